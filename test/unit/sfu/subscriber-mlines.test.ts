import { handDrivenSubscriber } from '../../helpers/hand-driven-subscriber.js';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, test, vi } from 'vitest';
import {
  GenericNack,
  PictureLossIndication,
  RtcpPayloadSpecificFeedback,
  RtcpPacketConverter,
  RtcpTransportLayerFeedback,
  RtpHeader,
  RtpPacket,
  type RTCPeerConnection,
  type RTCRtpReceiver,
  type RtcpPacket,
} from 'werift';
import { InvalidSdpError, InvalidStateError } from '../../../sfu/errors.js';
import { closePeerConnection, createPeerConnection } from '../../../sfu/peer/peer-factory.js';
import { PublishedTrack } from '../../../sfu/media/published-track.js';
import { createSfuMetrics } from '../../../sfu/sfu-metrics.js';
import { defaultSfuOptions } from '../../../sfu/sfu-options.js';
import { DATA_CHANNELS, SubscriberPeer, type SubscriberOffer } from '../../../sfu/peer/subscriber-peer.js';
import { midOf, splitDescription } from '../../../sfu/peer/subscriber-sdp.js';

const options = { ...defaultSfuOptions, portMin: 44000, portMax: 44999 };
const none = () => 0;
const registry = new Registry();
const metrics = createSfuMetrics(registry, { rooms: none, participants: none, publishedTracks: none, subscribedTracks: none, peerConnections: none });

const peers: SubscriberPeer[] = [];
const clients: RTCPeerConnection[] = [];
const published: PublishedTrack[] = [];

afterEach(async () => {
  vi.restoreAllMocks();
  for (const peer of peers.splice(0)) peer.close();
  await Promise.all(clients.splice(0).map((pc) => closePeerConnection(pc)));
  for (const track of published.splice(0)) track.close();
});

/** A subscriber connection whose queue turns the test gives by hand (runNegotiation). */
function subscriber() {
  const made = handDrivenSubscriber(options, metrics);
  peers.push(made.peer);
  return made;
}

/** A werift client's subscriber connection, with both data channels negotiated out of band as the SDK does. */
function client(): RTCPeerConnection {
  const pc = createPeerConnection(options);
  for (const [label, init] of Object.entries(DATA_CHANNELS)) pc.createDataChannel(label, { negotiated: true, ...init });
  clients.push(pc);
  return pc;
}

/** The client applies the offer and answers it. */
async function answer(pc: RTCPeerConnection, offer: SubscriberOffer): Promise<string> {
  await pc.setRemoteDescription({ type: 'offer', sdp: offer.sdp });
  await pc.setLocalDescription(await pc.createAnswer());
  return pc.localDescription!.sdp;
}

function track(id: string, kind: 'audio' | 'video'): PublishedTrack {
  const receiver = { onRtcp: { subscribe: () => ({ unSubscribe: () => undefined }) }, sendRtcpPLI: () => Promise.resolve() };
  const t = new PublishedTrack({
    id,
    kind,
    source: kind === 'audio' ? 'microphone' : 'camera',
    mid: id,
    publisherIdentity: `publisher of ${id}`,
    receiver: receiver as unknown as RTCRtpReceiver,
    extensions: {},
    packetCacheSize: 64,
    pliMinIntervalMs: 500,
    metrics,
  });
  published.push(t);
  return t;
}

/** Builds the next offer (the queue's turn) and returns it. */
async function nextOffer(peer: SubscriberPeer, offers: SubscriberOffer[]): Promise<SubscriberOffer> {
  const before = offers.length;
  await peer.runNegotiation();
  expect(offers).toHaveLength(before + 1);
  return offers[offers.length - 1];
}

/** One round: the next offer, the client's answer, handleAnswer. */
async function round(peer: SubscriberPeer, offers: SubscriberOffer[], pc: RTCPeerConnection) {
  const offer = await nextOffer(peer, offers);
  const sdp = await answer(pc, offer);
  await peer.handleAnswer(sdp);
  return { offer, answer: sdp };
}

const sectionsOf = (sdp: string) => splitDescription(sdp).sections;
const bundleOf = (sdp: string) => /\r\na=group:BUNDLE ([^\r]*)/.exec(sdp)![1].split(' ');
const originOf = (sdp: string) => /\r\no=(\S+) (\S+) (\S+) /.exec(sdp)!.slice(1);
const sectionFor = (sdp: string, mid: string) => sectionsOf(sdp).find((s) => midOf(s) === mid)!;
/** The SSRCs an offered section sends with: primary first, then RTX (a=ssrc-group:FID order). */
const ssrcsOf = (section: string) => [...new Set([...section.matchAll(/\r\na=ssrc:(\d+) /g)].map((m) => Number(m[1])))];
const midFor = (offer: SubscriberOffer, trackId: string) => Object.entries(offer.tracks).find(([, id]) => id === trackId)![0];
/** Replaces the answer's section for `mid` with a rejection (RFC 3264 §6), and takes it out of the BUNDLE group. */
function rejectSection(sdp: string, mid: string): string {
  const { session, sections } = splitDescription(sdp);
  const edited = sections.map((section) => {
    if (midOf(section) !== mid) return section;
    const [kind, , proto, ...formats] = section.split('\r\n')[0].slice(2).split(' ');
    return `m=${kind} 0 ${proto} ${formats.join(' ')}\r\nc=IN IP4 0.0.0.0\r\na=inactive\r\na=mid:${mid}\r\n`;
  });
  const bundle = bundleOf(sdp).filter((m) => m !== mid);
  return session.replace(/a=group:BUNDLE [^\r]*/, `a=group:BUNDLE ${bundle.join(' ')}`) + edited.join('');
}

async function nacksReceived(): Promise<number> {
  return (await metrics.nacksReceived.get()).values.reduce((sum, v) => sum + v.value, 0);
}

async function waitFor(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const start = performance.now();
  while (!condition()) {
    if (performance.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('offers', () => {
  test('the first offer: the data-channel m-line first, then one sendonly m-line per track, with the mids of `tracks`', async () => {
    const { peer, offers } = subscriber();
    peer.addTrack(track('TR_v1', 'video'), 'PA_1');
    peer.addTrack(track('TR_a1', 'audio'), 'PA_1');
    peer.addTrack(track('TR_v2', 'video'), 'PA_2');
    const offer = await nextOffer(peer, offers);

    const sections = sectionsOf(offer.sdp);
    expect(sections).toHaveLength(4);
    expect(sections[0].startsWith('m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n')).toBe(true);
    const applicationMid = midOf(sections[0])!;
    expect(applicationMid).toBeDefined();

    const media = sections.slice(1);
    expect(media.map((s) => s.slice(2, 7))).toEqual(['video', 'audio', 'video']);
    const mids = media.map((s) => midOf(s)!);
    expect(new Set([applicationMid, ...mids]).size).toBe(4);
    // `tracks` names every media m-line's track, in m-line order.
    expect(mids.map((mid) => offer.tracks[mid])).toEqual(['TR_v1', 'TR_a1', 'TR_v2']);
    expect(Object.keys(offer.tracks).sort()).toEqual([...mids].sort());
    expect(media[0]).toContain('\r\na=msid:PA_1 TR_v1\r\n');
    expect(media[1]).toContain('\r\na=msid:PA_1 TR_a1\r\n');
    expect(media[2]).toContain('\r\na=msid:PA_2 TR_v2\r\n');
    for (const section of media) {
      expect(section).toContain('\r\na=sendonly\r\n');
      expect(section.split('\r\n')[0]).toMatch(/^m=(audio|video) 9 UDP\/TLS\/RTP\/SAVPF /);
    }
    // Video sends with RTX (an SSRC group), audio with one SSRC; all SSRCs distinct.
    expect(media[0]).toMatch(/\r\na=ssrc-group:FID \d+ \d+\r\n/);
    expect(media[1]).not.toContain('a=ssrc-group');
    const ssrcs = media.flatMap(ssrcsOf);
    expect(ssrcs).toHaveLength(5);
    expect(new Set(ssrcs).size).toBe(5);

    expect(bundleOf(offer.sdp)).toEqual([applicationMid, ...mids]);
    expect(originOf(offer.sdp)[2]).toBe('1');
    expect(peer.mediaLineCount).toBe(3);
    // The media sections repeat the data-channel m-line's ICE and DTLS lines.
    const ufrag = /\r\na=ice-ufrag:([^\r]+)/.exec(sections[0])![1];
    const fingerprint = /\r\na=fingerprint:([^\r]+)/.exec(sections[0])![1];
    for (const section of media) {
      expect(section).toContain(`\r\na=ice-ufrag:${ufrag}\r\n`);
      expect(section).toContain(`\r\na=fingerprint:${fingerprint}\r\n`);
    }
  });

  test('the o= session version grows by one with each offer; the session id and data-channel m-line stay', async () => {
    const { peer, offers } = subscriber();
    const pc = client();
    peer.addTrack(track('TR_v1', 'video'), 'PA_1');
    const first = await round(peer, offers, pc);
    peer.addTrack(track('TR_a1', 'audio'), 'PA_1');
    const second = await round(peer, offers, pc);
    peer.removeTrack('TR_v1');
    const third = await round(peer, offers, pc);

    const origins = [first, second, third].map(({ offer }) => originOf(offer.sdp));
    expect(origins.map((o) => o[2])).toEqual(['1', '2', '3']);
    expect(new Set(origins.map((o) => `${o[0]} ${o[1]}`)).size).toBe(1);
    const applications = [first, second, third].map(({ offer }) => sectionsOf(offer.sdp)[0]);
    expect(applications[1]).toBe(applications[0]);
    expect(applications[2]).toBe(applications[0]);
  });

  test('the BUNDLE group lists the data-channel mid and every sending mid, and only those', async () => {
    const { peer, offers } = subscriber();
    const pc = client();
    peer.addTrack(track('TR_v1', 'video'), 'PA_1');
    peer.addTrack(track('TR_a1', 'audio'), 'PA_1');
    const { offer } = await round(peer, offers, pc);
    const applicationMid = midOf(sectionsOf(offer.sdp)[0])!;
    expect(bundleOf(offer.sdp)).toEqual([applicationMid, midFor(offer, 'TR_v1'), midFor(offer, 'TR_a1')]);

    peer.removeTrack('TR_a1');
    peer.addTrack(track('TR_v2', 'video'), 'PA_2');
    const next = await nextOffer(peer, offers);
    expect(bundleOf(next.sdp)).toEqual([applicationMid, midFor(next, 'TR_v1'), midFor(next, 'TR_v2')]);
    expect(bundleOf(next.sdp)).not.toContain(midFor(offer, 'TR_a1'));
  });
});

describe('answers from a werift client', () => {
  test('every offer applies in the client and its answer is accepted; the down tracks are then negotiated', async () => {
    const { peer, offers, failures } = subscriber();
    const pc = client();
    peer.addTrack(track('TR_v1', 'video'), 'PA_1');
    peer.addTrack(track('TR_a1', 'audio'), 'PA_1');
    const first = await nextOffer(peer, offers);
    expect([...peer.downTracks.values()].map((d) => d.isNegotiated)).toEqual([false, false]);
    await peer.handleAnswer(await answer(pc, first));
    expect([...peer.downTracks.entries()].map(([id, d]) => [id, d.isNegotiated])).toEqual([
      ['TR_v1', true],
      ['TR_a1', true],
    ]);
    // The client receives on one recvonly transceiver per offered media m-line.
    const received = pc
      .getTransceivers()
      .filter((t) => t.kind !== 'application')
      .map((t) => [t.mid, t.kind, t.currentDirection]);
    expect(received).toEqual([
      [midFor(first, 'TR_v1'), 'video', 'recvonly'],
      [midFor(first, 'TR_a1'), 'audio', 'recvonly'],
    ]);

    peer.addTrack(track('TR_v2', 'video'), 'PA_2');
    peer.addTrack(track('TR_a2', 'audio'), 'PA_2');
    const second = await nextOffer(peer, offers);
    expect(peer.downTracks.get('TR_v2')!.isNegotiated).toBe(false);
    await peer.handleAnswer(await answer(pc, second));
    expect([...peer.downTracks.values()].every((d) => d.isNegotiated)).toBe(true);
    expect(peer.downTracks.size).toBe(4);

    peer.removeTrack('TR_a1');
    await round(peer, offers, pc);
    peer.addTrack(track('TR_a3', 'audio'), 'PA_3');
    const { offer: fourth } = await round(peer, offers, pc);
    expect([...peer.downTracks.keys()].sort()).toEqual(['TR_a2', 'TR_a3', 'TR_v1', 'TR_v2']);
    expect([...peer.downTracks.values()].every((d) => d.isNegotiated)).toBe(true);
    expect(Object.values(fourth.tracks).sort()).toEqual(['TR_a2', 'TR_a3', 'TR_v1', 'TR_v2']);
    expect(offers).toHaveLength(4);
    expect(failures).toEqual([]);
  });

  test('an LF-only answer is read as CRLF and accepted', async () => {
    const { peer, offers } = subscriber();
    const pc = client();
    peer.addTrack(track('TR_v1', 'video'), 'PA_1');
    const offer = await nextOffer(peer, offers);
    const sdp = (await answer(pc, offer)).replace(/\r\n/g, '\n');
    await peer.handleAnswer(sdp);
    expect(peer.downTracks.get('TR_v1')!.isNegotiated).toBe(true);
  });

  test('answering twice: the second answer finds no offer outstanding', async () => {
    const { peer, offers } = subscriber();
    const pc = client();
    peer.addTrack(track('TR_v1', 'video'), 'PA_1');
    const { answer: sdp } = await round(peer, offers, pc);
    await expect(peer.handleAnswer(sdp)).rejects.toBeInstanceOf(InvalidStateError);
  });
});

describe('removed tracks and reused m-lines', () => {
  test('a removed track keeps its m-line in place: port 0, inactive, the same mid, out of BUNDLE', async () => {
    const { peer, offers } = subscriber();
    const pc = client();
    peer.addTrack(track('TR_v1', 'video'), 'PA_1');
    peer.addTrack(track('TR_a1', 'audio'), 'PA_1');
    peer.addTrack(track('TR_v2', 'video'), 'PA_2');
    const { offer: first } = await round(peer, offers, pc);
    const removedMid = midFor(first, 'TR_v1');
    const before = sectionsOf(first.sdp);
    expect(midOf(before[1])).toBe(removedMid);

    peer.removeTrack('TR_v1');
    expect(peer.downTracks.has('TR_v1')).toBe(false);
    const second = await nextOffer(peer, offers);
    const after = sectionsOf(second.sdp);
    expect(after).toHaveLength(before.length);
    expect(after[1].split('\r\n')[0]).toBe('m=video 0 UDP/TLS/RTP/SAVPF 96');
    expect(midOf(after[1])).toBe(removedMid);
    expect(after[1]).toContain('\r\na=inactive\r\n');
    expect(after[1]).not.toContain('a=ssrc');
    expect(after[1]).not.toContain('a=msid');
    expect(bundleOf(second.sdp)).not.toContain(removedMid);
    expect(bundleOf(second.sdp)).toEqual([midOf(after[0]), midOf(after[2]), midOf(after[3])]);
    expect(second.tracks).not.toHaveProperty(removedMid);
    // The other m-lines are the same text as before (printed once).
    expect(after[2]).toBe(before[2]);
    expect(after[3]).toBe(before[3]);
    expect(peer.mediaLineCount).toBe(3);

    // The client applies the stop; its answer is accepted and the other tracks stay negotiated.
    await peer.handleAnswer(await answer(pc, second));
    expect(peer.downTracks.get('TR_a1')!.isNegotiated).toBe(true);
    expect(peer.downTracks.get('TR_v2')!.isNegotiated).toBe(true);
  });

  test('once the stop is answered, a track of the same kind takes that m-line with a new mid; one of the other kind does not', async () => {
    const { peer, offers } = subscriber();
    const pc = client();
    peer.addTrack(track('TR_v1', 'video'), 'PA_1');
    peer.addTrack(track('TR_a1', 'audio'), 'PA_1');
    const { offer: first } = await round(peer, offers, pc);
    const stoppedMid = midFor(first, 'TR_v1');
    const audioMid = midFor(first, 'TR_a1');
    peer.removeTrack('TR_v1');
    await round(peer, offers, pc);
    expect(peer.mediaLineCount).toBe(2);

    // Audio does not take the stopped video m-line: a new one is added at the end.
    peer.addTrack(track('TR_a2', 'audio'), 'PA_2');
    expect(peer.mediaLineCount).toBe(3);
    const { offer: third } = await round(peer, offers, pc);
    let sections = sectionsOf(third.sdp);
    expect(sections).toHaveLength(4);
    expect(sections[1].startsWith('m=video 0 ')).toBe(true);
    expect(midOf(sections[1])).toBe(stoppedMid);
    expect(midOf(sections[2])).toBe(audioMid);
    const newAudioMid = midOf(sections[3])!;
    expect(sections[3].startsWith('m=audio 9 ')).toBe(true);
    expect(third.tracks[newAudioMid]).toBe('TR_a2');

    // Video does: same index, a mid never used before, the m-line count unchanged.
    peer.addTrack(track('TR_v2', 'video'), 'PA_2');
    expect(peer.mediaLineCount).toBe(3);
    const { offer: fourth } = await round(peer, offers, pc);
    sections = sectionsOf(fourth.sdp);
    expect(sections).toHaveLength(4);
    const reusedMid = midOf(sections[1])!;
    expect(sections[1].startsWith('m=video 9 ')).toBe(true);
    expect(reusedMid).not.toBe(stoppedMid);
    expect([stoppedMid, audioMid, newAudioMid, midOf(sections[0])]).not.toContain(reusedMid);
    expect(fourth.tracks[reusedMid]).toBe('TR_v2');
    expect(sections[1]).toContain('\r\na=msid:PA_2 TR_v2\r\n');
    expect(bundleOf(fourth.sdp)).toEqual([midOf(sections[0]), reusedMid, audioMid, newAudioMid]);
    // The werift client took the new mid at that index; the new track is negotiated.
    expect(peer.downTracks.get('TR_v2')!.isNegotiated).toBe(true);
    expect(pc.getTransceivers().map((t) => t.mid)).toContain(reusedMid);
  });

  test('a stopped m-line whose stop is not yet answered is not reused', async () => {
    const { peer, offers } = subscriber();
    const pc = client();
    peer.addTrack(track('TR_v1', 'video'), 'PA_1');
    await round(peer, offers, pc);
    peer.removeTrack('TR_v1');
    const second = await nextOffer(peer, offers);
    // The stop is offered, not answered: a new video track gets an m-line of its own.
    peer.addTrack(track('TR_v2', 'video'), 'PA_2');
    expect(peer.mediaLineCount).toBe(2);
    await peer.handleAnswer(await answer(pc, second));
    const { offer: third } = await round(peer, offers, pc);
    const sections = sectionsOf(third.sdp);
    expect(sections).toHaveLength(3);
    expect(sections[1].startsWith('m=video 0 ')).toBe(true);
    expect(third.tracks[midOf(sections[2])!]).toBe('TR_v2');
    expect(peer.downTracks.get('TR_v2')!.isNegotiated).toBe(true);
  });
});

describe('tracks that never reach an offer', () => {
  test('a track removed before any offer carried it leaves no m-line behind', async () => {
    const { peer, offers } = subscriber();
    peer.addTrack(track('TR_v1', 'video'), 'PA_1');
    peer.removeTrack('TR_v1');
    peer.addTrack(track('TR_a1', 'audio'), 'PA_1');
    expect(peer.mediaLineCount).toBe(1);
    const offer = await nextOffer(peer, offers);
    expect(sectionsOf(offer.sdp).map((s) => s.split(' ')[0])).toEqual(['m=application', 'm=audio']);
  });

  test('subscribing a closed track throws and leaves nothing behind; the connection goes on', async () => {
    const { peer, offers } = subscriber();
    const closed = track('TR_v0', 'video');
    closed.close();
    expect(() => peer.addTrack(closed, 'PA_0')).toThrow();
    expect(peer.mediaLineCount).toBe(0);
    expect(peer.subscribes('TR_v0')).toBe(false);
    peer.addTrack(track('TR_v1', 'video'), 'PA_1');
    const offer = await nextOffer(peer, offers);
    expect(Object.values(offer.tracks)).toEqual(['TR_v1']);
    expect(sectionsOf(offer.sdp)).toHaveLength(2);
  });
});

describe('answers the server refuses', () => {
  test('an answer that changes the ICE credentials is refused and the offer stays outstanding', async () => {
    const { peer, offers } = subscriber();
    const pc = client();
    peer.addTrack(track('TR_v1', 'video'), 'PA_1');
    await round(peer, offers, pc);
    peer.addTrack(track('TR_a1', 'audio'), 'PA_1');
    const offer = await nextOffer(peer, offers);
    const sdp = await answer(pc, offer);
    const ufrag = /\r\na=ice-ufrag:([^\r]+)/.exec(sdp)![1];
    const pwd = /\r\na=ice-pwd:([^\r]+)/.exec(sdp)![1];
    const edited = sdp.split(`a=ice-ufrag:${ufrag}`).join('a=ice-ufrag:zzzz').split(`a=ice-pwd:${pwd}`).join('a=ice-pwd:ZZZZZZZZZZZZZZZZZZZZZZ');
    expect(edited).not.toBe(sdp);

    const refusal = await peer.handleAnswer(edited).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(InvalidSdpError);
    expect((refusal as Error).message).toMatch(/ICE credentials/);
    expect(peer.downTracks.get('TR_a1')!.isNegotiated).toBe(false);
    // A password alone changing is a change too.
    await expect(peer.handleAnswer(sdp.split(`a=ice-pwd:${pwd}`).join('a=ice-pwd:ZZZZZZZZZZZZZZZZZZZZZZ'))).rejects.toBeInstanceOf(InvalidSdpError);

    // Still outstanding: no new offer is made, and the right answer is accepted.
    await peer.runNegotiation();
    expect(offers).toHaveLength(2);
    await peer.handleAnswer(sdp);
    expect(peer.downTracks.get('TR_a1')!.isNegotiated).toBe(true);
    expect(peer.downTracks.get('TR_v1')!.isNegotiated).toBe(true);
  });

  test('an answer whose mids do not match the offer is refused, and the offer stays outstanding', async () => {
    const { peer, offers } = subscriber();
    const pc = client();
    peer.addTrack(track('TR_v1', 'video'), 'PA_1');
    peer.addTrack(track('TR_a1', 'audio'), 'PA_1');
    const offer = await nextOffer(peer, offers);
    const sdp = await answer(pc, offer);
    const videoMid = midFor(offer, 'TR_v1');
    const audioMid = midFor(offer, 'TR_a1');
    const { session, sections } = splitDescription(sdp);

    const renamed = sdp.replace(`\r\na=mid:${videoMid}\r\n`, '\r\na=mid:x9\r\n');
    const swapped = session + [sections[0], sections[2], sections[1]].join('');
    const short = session + sections.slice(0, 2).join('');
    for (const bad of [renamed, swapped, short]) {
      const refusal = await peer.handleAnswer(bad).catch((error: unknown) => error);
      expect(refusal).toBeInstanceOf(InvalidSdpError);
      expect((refusal as Error).message).toMatch(/does not answer the outstanding offer/);
    }
    expect(midOf(swapped.slice(swapped.indexOf('m=video')))).toBe(videoMid);
    expect([...peer.downTracks.values()].map((d) => d.isNegotiated)).toEqual([false, false]);

    // The first answer is applied through werift only now: the refused ones changed nothing.
    await peer.handleAnswer(sdp);
    expect(peer.downTracks.get('TR_v1')!.isNegotiated).toBe(true);
    expect(peer.downTracks.get('TR_a1')!.isNegotiated).toBe(true);
    expect(audioMid).not.toBe(videoMid);
  });

  test.each([
    ['audio', 'TR_a1'],
    ['video', 'TR_v2'],
  ])('an answer that rejects one %s m-line ends that subscription (its m-line stopped, free for another track); the others are negotiated', async (_kind, rejected) => {
    const { peer, offers } = subscriber();
    const pc = client();
    peer.addTrack(track('TR_v1', 'video'), 'PA_1');
    peer.addTrack(track('TR_a1', 'audio'), 'PA_1');
    peer.addTrack(track('TR_v2', 'video'), 'PA_2');
    const offer = await nextOffer(peer, offers);
    const mid = midFor(offer, rejected);
    const sdp = rejectSection(await answer(pc, offer), mid);
    expect(sectionFor(sdp, mid).split('\r\n')[0]).toMatch(/^m=(audio|video) 0 /);
    expect(bundleOf(sdp)).not.toContain(mid);

    await peer.handleAnswer(sdp);
    const negotiated = Object.fromEntries([...peer.downTracks.entries()].map(([id, d]) => [id, d.isNegotiated]));
    const expected: Record<string, boolean> = { TR_v1: true, TR_a1: true, TR_v2: true };
    delete expected[rejected];
    expect(negotiated).toEqual(expected);
    expect(peer.subscribes(rejected)).toBe(false);
    // The next offer keeps the rejected m-line stopped in its place, out of BUNDLE.
    peer.addTrack(track('TR_v3', 'video'), 'PA_3');
    const next = await nextOffer(peer, offers);
    const lines = next.sdp.split('\r\nm=').slice(1).map((m) => `m=${m.split('\r\n')[0]}`);
    expect(lines).toHaveLength(rejected === 'TR_v2' ? 4 : 5); // the data channels' m-line first
    if (rejected === 'TR_v2') {
      // The stopped video m-line was free: TR_v3 took it, with a new mid.
      expect(midFor(next, 'TR_v3')).not.toBe(mid);
      expect(lines[3]).toMatch(/^m=video 9 /);
    } else {
      expect(sectionFor(next.sdp, mid).split('\r\n')[0]).toMatch(/^m=audio 0 /);
      expect(bundleOf(next.sdp)).not.toContain(mid);
    }
  });

  test("an answer that accepts an m-line without the publisher's codec leaves it not negotiated", async () => {
    const { peer, offers } = subscriber();
    const pc = client();
    peer.addTrack(track('TR_v1', 'video'), 'PA_1');
    peer.addTrack(track('TR_a1', 'audio'), 'PA_1');
    const offer = await nextOffer(peer, offers);
    // VP8 (96) is dropped from the video m-line: only its RTX (97) is left.
    const sdp = (await answer(pc, offer)).replace(/\r\nm=video 9 UDP\/TLS\/RTP\/SAVPF 96 97\r\n/, '\r\nm=video 9 UDP/TLS/RTP/SAVPF 97\r\n');
    expect(sdp).toContain('m=video 9 UDP/TLS/RTP/SAVPF 97\r\n');
    await peer.handleAnswer(sdp);
    expect(peer.downTracks.get('TR_v1')!.isNegotiated).toBe(false);
    expect(peer.downTracks.get('TR_a1')!.isNegotiated).toBe(true);
  });
});

describe('RTCP from the subscriber', () => {
  const pli = (mediaSsrc: number) => new RtcpPayloadSpecificFeedback({ feedback: new PictureLossIndication({ senderSsrc: 1, mediaSsrc }) });
  /** A FIR (RFC 5104 §4.3.1: PSFB, FMT 4) as it arrives: werift does not export its FullIntraRequest class. */
  const fir = (ssrc: number) => {
    const data = Buffer.alloc(20);
    data.writeUInt8(0x80 | 4, 0);
    data.writeUInt8(206, 1);
    data.writeUInt16BE(4, 2);
    data.writeUInt32BE(1, 4); // sender SSRC
    data.writeUInt32BE(0, 8); // media source SSRC: 0 for a FIR
    data.writeUInt32BE(ssrc, 12);
    data.writeUInt8(1, 16); // command sequence number
    const [packet] = RtcpPacketConverter.deSerialize(data);
    expect(packet).toBeInstanceOf(RtcpPayloadSpecificFeedback);
    expect((packet as RtcpPayloadSpecificFeedback).feedback.count).toBe(4);
    return packet;
  };
  const nack = (mediaSourceSsrc: number) => new RtcpTransportLayerFeedback({ feedback: new GenericNack({ senderSsrc: 1, mediaSourceSsrc, lost: [100, 101] }) });

  /** Three down tracks, negotiated with a werift client, and the SSRCs each is sent with. */
  async function negotiatedRoom() {
    const { peer, offers, pc } = subscriber();
    const client1 = client();
    const tracks = { v1: track('TR_v1', 'video'), v2: track('TR_v2', 'video'), a1: track('TR_a1', 'audio') };
    peer.addTrack(tracks.v1, 'PA_1');
    peer.addTrack(tracks.v2, 'PA_2');
    peer.addTrack(tracks.a1, 'PA_1');
    const { offer } = await round(peer, offers, client1);
    const ssrcs = (id: string) => ssrcsOf(sectionFor(offer.sdp, midFor(offer, id)));
    const down = { v1: peer.downTracks.get('TR_v1')!, v2: peer.downTracks.get('TR_v2')!, a1: peer.downTracks.get('TR_a1')! };
    expect(ssrcs('TR_v1')).toEqual([down.v1.line.ssrc, down.v1.line.rtxSsrc]);
    expect(ssrcs('TR_a1')).toEqual([down.a1.line.ssrc]);
    const handled = { v1: vi.spyOn(down.v1, 'handleRtcp'), v2: vi.spyOn(down.v2, 'handleRtcp'), a1: vi.spyOn(down.a1, 'handleRtcp') };
    const keyframes = { v1: vi.spyOn(tracks.v1, 'requestKeyframe'), v2: vi.spyOn(tracks.v2, 'requestKeyframe'), a1: vi.spyOn(tracks.a1, 'requestKeyframe') };
    const rtcp = (packet: RtcpPacket) => pc.sctpTransport!.dtlsTransport.onRtcp.execute(packet);
    return { peer, pc, client: client1, offer, tracks, down, ssrcs, handled, keyframes, rtcp };
  }

  const calls = (spies: Record<string, { mock: { calls: unknown[] } }>) => Object.fromEntries(Object.entries(spies).map(([k, s]) => [k, s.mock.calls.length]));

  test('each packet reaches only the down track whose SSRC it names; a NACK counts in nacksReceived', async () => {
    const { peer, ssrcs, handled, keyframes, rtcp } = await negotiatedRoom();
    const [v1, v1Rtx] = ssrcs('TR_v1');
    const [v2] = ssrcs('TR_v2');
    const [a1] = ssrcs('TR_a1');

    let nacks = await nacksReceived();
    rtcp(nack(v2));
    expect(calls(handled)).toEqual({ v1: 0, v2: 1, a1: 0 });
    expect(await nacksReceived()).toBe(nacks + 1);

    // A NACK about the RTX SSRC is about the same down track.
    rtcp(nack(v1Rtx));
    expect(calls(handled)).toEqual({ v1: 1, v2: 1, a1: 0 });
    expect(await nacksReceived()).toBe(nacks + 2);

    rtcp(nack(a1));
    expect(calls(handled)).toEqual({ v1: 1, v2: 1, a1: 1 });
    expect(await nacksReceived()).toBe(nacks + 3);

    // An SSRC the connection does not send with reaches nobody.
    rtcp(nack(12345));
    rtcp(pli(12345));
    expect(calls(handled)).toEqual({ v1: 1, v2: 1, a1: 1 });
    expect(await nacksReceived()).toBe(nacks + 3);

    // A PLI and a FIR reach their down track, which asks nothing of the publisher before it forwards a layer.
    rtcp(pli(v1));
    rtcp(fir(v2));
    expect(calls(handled)).toEqual({ v1: 2, v2: 2, a1: 1 });
    expect(calls(keyframes)).toEqual({ v1: 0, v2: 0, a1: 0 });

    // A removed track's SSRCs reach nothing any more.
    const removed = handled.v2;
    peer.removeTrack('TR_v2');
    nacks = await nacksReceived();
    rtcp(nack(v2));
    expect(removed).toHaveBeenCalledTimes(2);
    expect(await nacksReceived()).toBe(nacks);
    expect(calls({ v1: handled.v1, a1: handled.a1 })).toEqual({ v1: 2, a1: 1 });
    expect(v1).not.toBe(v2);
  });

  test('once a down track forwards, a PLI or FIR about its SSRC asks its publisher, and only its publisher, for a key frame', async () => {
    const { pc, down, tracks, ssrcs, handled, keyframes, rtcp } = await negotiatedRoom();
    await waitFor(() => pc.sctpTransport!.dtlsTransport.state === 'connected', 10_000, 'the DTLS transport connected');

    // A key frame of TR_v1 is forwarded: the down track now has a current layer.
    const payload = Buffer.from([0x10, 0x00, 0x9d, 0x01, 0x2a, 0, 0, 0]);
    const packet = new RtpPacket(new RtpHeader({ payloadType: 96, sequenceNumber: 500, timestamp: 9000, ssrc: 777, marker: true }), payload);
    down.v1.forward(packet, tracks.v1.layers[0], 500, 9000, true);
    expect(down.v1.currentLayer).toBe(0);
    expect(down.v2.currentLayer).toBe(-1);

    rtcp(pli(ssrcs('TR_v1')[0]));
    expect(calls(keyframes)).toEqual({ v1: 1, v2: 0, a1: 0 });
    expect(keyframes.v1).toHaveBeenLastCalledWith('subscriber-pli', tracks.v1.layers[0]);

    rtcp(fir(ssrcs('TR_v1')[0]));
    expect(calls(keyframes)).toEqual({ v1: 2, v2: 0, a1: 0 });

    // TR_v2 forwards nothing yet: its PLI reaches it and asks nothing.
    rtcp(pli(ssrcs('TR_v2')[0]));
    expect(calls(handled)).toEqual({ v1: 2, v2: 1, a1: 0 });
    expect(calls(keyframes)).toEqual({ v1: 2, v2: 0, a1: 0 });
  });

  test("a PLI the client's receiver sends over the connection reaches that down track", async () => {
    const { pc, client: remote, offer, ssrcs, handled } = await negotiatedRoom();
    // Both ends must have their SRTP keys: the client (DTLS client) may finish its handshake after the server.
    await waitFor(
      () => pc.sctpTransport!.dtlsTransport.state === 'connected' && remote.sctpTransport?.dtlsTransport.state === 'connected',
      10_000,
      'both DTLS transports connected',
    );
    const receiver = remote.getTransceivers().find((t) => t.mid === midFor(offer, 'TR_v2'))!.receiver;
    // Sent again until it arrives: it is one UDP datagram.
    const start = performance.now();
    while (handled.v2.mock.calls.length === 0) {
      if (performance.now() - start > 10_000) throw new Error('the PLI never reached the down track');
      await receiver.sendRtcpPLI(ssrcs('TR_v2')[0]);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(handled.v2.mock.calls[0][0]).toBeInstanceOf(RtcpPayloadSpecificFeedback);
    expect(((handled.v2.mock.calls[0][0] as RtcpPayloadSpecificFeedback).feedback as PictureLossIndication).mediaSsrc).toBe(ssrcs('TR_v2')[0]);
    expect(calls(handled)).toMatchObject({ v1: 0, a1: 0 });
  });
});

describe('close', () => {
  test('is idempotent, leaves no down track, and frees the published tracks', async () => {
    const { peer, offers, pc } = subscriber();
    const remote = client();
    const video = track('TR_v1', 'video');
    const audio = track('TR_a1', 'audio');
    peer.addTrack(video, 'PA_1');
    peer.addTrack(audio, 'PA_1');
    await round(peer, offers, remote);
    const downTracks = [...peer.downTracks.values()];
    expect(downTracks).toHaveLength(2);
    expect(video.neededLayer()).toBe(0);

    peer.close();
    expect(() => peer.close()).not.toThrow();
    expect(peer.downTracks.size).toBe(0);
    expect(peer.mediaLineCount).toBe(0);
    expect(peer.subscriptionCount).toBe(0);
    expect(downTracks.every((d) => d.closed)).toBe(true);
    expect(video.neededLayer()).toBe(-1);
    expect(audio.neededLayer()).toBe(-1);

    // Nothing more happens on it.
    expect(() => peer.addTrack(track('TR_v2', 'video'), 'PA_2')).toThrow(InvalidStateError);
    await expect(peer.handleAnswer('v=0\r\n')).rejects.toBeInstanceOf(InvalidStateError);
    await peer.runNegotiation();
    expect(offers).toHaveLength(1);
    const handled = vi.spyOn(downTracks[0], 'handleRtcp');
    pc.sctpTransport!.dtlsTransport.onRtcp.execute(
      new RtcpTransportLayerFeedback({ feedback: new GenericNack({ senderSsrc: 1, mediaSourceSsrc: downTracks[0].line.ssrc, lost: [1] }) }),
    );
    expect(handled).not.toHaveBeenCalled();
    expect(peer.downTracks.size).toBe(0);
  });

  test('closing with an offer outstanding sends nothing more', async () => {
    const { peer, offers, failures } = subscriber();
    peer.addTrack(track('TR_v1', 'video'), 'PA_1');
    await nextOffer(peer, offers);
    peer.close();
    peer.close();
    expect(peer.downTracks.size).toBe(0);
    peer.removeTrack('TR_v1');
    peer.negotiate();
    await peer.runNegotiation();
    expect(offers).toHaveLength(1);
    expect(failures).toEqual([]);
  });
});

describe('ICE restart', () => {
  const iceOf = (section: string) => [/\r\na=ice-ufrag:([^\r]+)/.exec(`\r\n${section}`)?.[1], /\r\na=ice-pwd:([^\r]+)/.exec(`\r\n${section}`)?.[1]].join(' ');

  test('a restart offer repeats the new credentials in every m-line it sends on, keeps the tracks, and takes an answer with new ones', async () => {
    const { peer, offers } = subscriber();
    const pc = client();
    peer.addTrack(track('TR_v1', 'video'), 'PA_1');
    peer.addTrack(track('TR_a1', 'audio'), 'PA_1');
    const first = await round(peer, offers, pc);
    peer.addTrack(track('TR_v2', 'video'), 'PA_2');
    peer.removeTrack('TR_a1');
    await round(peer, offers, pc);

    peer.restartIce();
    peer.restartIce(); // asked twice before the offer: one restart
    const restart = await nextOffer(peer, offers);
    const sending = sectionsOf(restart.sdp).filter((s) => !/^m=\S+ 0 /.test(s));
    const oldIce = iceOf(sectionsOf(first.offer.sdp)[0]);
    const newIce = iceOf(sending[0]);
    expect(newIce).not.toBe(oldIce);
    for (const section of sending) expect(iceOf(section)).toBe(newIce);
    expect(Object.values(restart.tracks).sort()).toEqual(['TR_v1', 'TR_v2']);
    expect(peer.restartingIce).toBe(true);

    // The client restarts too, as a browser does (a werift client would not, beside the stopped m-line:
    // sfu/peer/werift-peer-internals.ts, "ICE restart").
    for (const transport of pc.iceTransports) transport.restart();
    const sdp = await answer(pc, restart);
    expect(iceOf(sectionsOf(sdp)[0])).not.toBe(iceOf(sectionsOf(first.answer)[0]));
    await peer.handleAnswer(sdp);
    // Later offers keep the new credentials, and so must later answers.
    peer.addTrack(track('TR_a2', 'audio'), 'PA_2');
    const next = await round(peer, offers, pc);
    expect(iceOf(sectionsOf(next.offer.sdp)[0])).toBe(newIce);
    expect(peer.downTracks.get('TR_a2')!.isNegotiated).toBe(true);
    expect(await metrics.iceRestarts.get()).toMatchObject({ values: expect.arrayContaining([expect.objectContaining({ labels: { peer: 'subscriber' } })]) });
  });

  test('a restart asked for while an offer is outstanding comes with the next offer, after the answer', async () => {
    const { peer, offers } = subscriber();
    const pc = client();
    peer.addTrack(track('TR_v1', 'video'), 'PA_1');
    const first = await round(peer, offers, pc);
    peer.addTrack(track('TR_a1', 'audio'), 'PA_1');
    const outstanding = await nextOffer(peer, offers);
    peer.restartIce();
    await peer.runNegotiation(); // nothing while an offer is outstanding
    expect(offers).toHaveLength(2);
    await peer.handleAnswer(await answer(pc, outstanding));
    const restart = await nextOffer(peer, offers);
    expect(iceOf(sectionsOf(restart.sdp)[0])).not.toBe(iceOf(sectionsOf(first.offer.sdp)[0]));
  });

  test('a restart before the first offer is refused', () => {
    const { peer } = subscriber();
    expect(() => peer.restartIce()).toThrow(InvalidStateError);
  });
});
