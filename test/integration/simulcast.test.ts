import { afterAll, afterEach, beforeAll, expect, test } from 'vitest';
import type { RunningServer } from '../../server/app.js';
import type { DownTrack } from '../../sfu/media/down-track.js';
import type { PublishedTrack } from '../../sfu/media/published-track.js';
import { Bot, waitUntil } from '../helpers/bot.js';
import { metricTotal, startTestServer } from '../helpers/server.js';
import { readSimulcastPayload, SimulcastPublisher, type SimulcastPayload, type SimulcastPublisherOptions } from '../helpers/simulcast-publisher.js';

/*
 * Simulcast through the real server: a werift stand-in for Chromium publishes cameras as three VP8 layers each
 * (rids q, h, f, lowest first), werift bots subscribe. Every payload names its camera, layer and the publisher's
 * sequence number, so the tests see which layer each subscriber got, and the outgoing RTP and VP8 numbering
 * shows whether a layer switch was seamless.
 */

const RIDS = ['q', 'h', 'f'];
/** A publisher that sends key frames only when asked: every key frame a test sees came from a PLI (or a resume). */
const NO_PERIODIC_KEYFRAMES = 600_000;
/** The longest a subscriber may go without video when its layer stops (a layer counts as stopped after 1 s). */
const MAX_SWITCH_FREEZE_MS = 2000;

let server: RunningServer;
const cleanups: (() => Promise<void>)[] = [];
beforeAll(async () => {
  server = await startTestServer();
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  await waitUntil(() => server.sfu.rooms.size === 0, 10_000, 'rooms to empty');
});
afterAll(async () => {
  await server?.close();
});

/** One RTP packet as a subscriber received it (after werift's SRTP and RTX unwrapping). */
interface Received {
  /** Arrival order over all of the subscriber's packets. */
  n: number;
  at: number;
  trackId: string;
  sequenceNumber: number;
  timestamp: number;
  payload: SimulcastPayload | undefined;
}

interface Subscriber {
  bot: Bot;
  packets: Received[];
  /** This track's packets, in arrival order. */
  of(trackId: string): Received[];
}

async function publish(room: string, identity: string, options: SimulcastPublisherOptions = {}): Promise<SimulcastPublisher> {
  const publisher = await SimulcastPublisher.join(server.signalingUrl, room, identity, options);
  cleanups.push(() => publisher.close());
  // Every layer has reached the SFU (its SSRC is learned at its first packet): a subscriber starts at the top.
  await waitUntil(() => publisher.trackIds.every((id) => publishedTrack(room, identity, id)?.layers.every((l) => l.ssrc >= 0)), 10_000, 'every layer at the SFU');
  return publisher;
}

async function subscribe(room: string, identity: string): Promise<Subscriber> {
  const packets: Received[] = [];
  const bot = await Bot.join(server.signalingUrl, room, identity, undefined, {
    onRtp: (packet, track) =>
      packets.push({
        n: packets.length,
        at: performance.now(),
        trackId: track.trackId,
        sequenceNumber: packet.header.sequenceNumber,
        timestamp: packet.header.timestamp,
        payload: readSimulcastPayload(packet.payload),
      }),
  });
  cleanups.push(() => bot.close());
  return { bot, packets, of: (trackId) => packets.filter((p) => p.trackId === trackId) };
}

function publishedTrack(room: string, identity: string, trackId: string): PublishedTrack | undefined {
  return server.sfu.findRoom(room)?.participant(identity)?.publishedTracks.get(trackId);
}

/** The subscriber's server-side down track of `trackId`. */
function downTrack(room: string, identity: string, trackId: string): DownTrack {
  const downTrack = server.sfu.room(room).participant(identity)?.subscriber.downTracks.get(trackId);
  if (!downTrack) throw new Error(`${identity} has no down track for ${trackId}`);
  return downTrack;
}

const ridsOf = (packets: readonly Received[]) => [...new Set(packets.map((p) => p.payload?.rid ?? 'unreadable'))];
const countOf = (packets: readonly Received[], rid: string) => packets.filter((p) => p.payload?.rid === rid).length;

type Ordered = Received & { extended: number };

/** The first copy of each outgoing sequence number, in sequence order (numbers extended across the 16-bit wrap). */
function inSequenceOrder(packets: readonly Received[]): Ordered[] {
  const seen = new Map<number, Ordered>();
  let highest: number | undefined;
  for (const packet of packets) {
    const extended = highest === undefined ? packet.sequenceNumber : highest + ((((packet.sequenceNumber - highest) & 0xffff) << 16) >> 16);
    highest = highest === undefined ? extended : Math.max(highest, extended);
    if (!seen.has(extended)) seen.set(extended, { ...packet, extended });
  }
  return [...seen.values()].sort((a, b) => a.extended - b.extended);
}

/** Outgoing sequence numbers missing between the first and the newest received. */
function sequenceGaps(packets: readonly Received[]): number[] {
  const ordered = inSequenceOrder(packets);
  const gaps: number[] = [];
  for (let i = 1; i < ordered.length; i++) for (let e = ordered[i - 1].extended + 1; e < ordered[i].extended; e++) gaps.push(e & 0xffff);
  return gaps;
}

/**
 * Frame by frame in sequence order, the VP8 fields as a decoder needs them (RFC 7741 §4.2): each new frame's
 * PictureID is the previous one + 1, TL0PICIDX moves by one exactly on TID 0 frames and KEYIDX exactly on key
 * frames. Returns the places where that does not hold.
 */
function vp8Discontinuities(packets: readonly Received[]): string[] {
  const ordered = inSequenceOrder(packets);
  const problems: string[] = [];
  for (let i = 1; i < ordered.length; i++) {
    const prev = ordered[i - 1].payload;
    const cur = ordered[i].payload;
    if (!prev || !cur) {
      problems.push(`unreadable payload at outgoing seq ${ordered[i].sequenceNumber}`);
      continue;
    }
    if (cur.pictureId === prev.pictureId) continue;
    const where = `seq ${ordered[i].sequenceNumber} (${prev.rid}→${cur.rid})`;
    if (cur.pictureId !== ((prev.pictureId + 1) & 0x7fff)) problems.push(`${where}: PictureID ${prev.pictureId} → ${cur.pictureId}`);
    if (cur.tl0PicIdx !== ((prev.tl0PicIdx + (cur.temporalId === 0 ? 1 : 0)) & 0xff)) problems.push(`${where}: TL0PICIDX ${prev.tl0PicIdx} → ${cur.tl0PicIdx} (TID ${cur.temporalId})`);
    if (cur.keyIdx !== ((prev.keyIdx + (cur.keyframe ? 1 : 0)) & 0x1f)) problems.push(`${where}: KEYIDX ${prev.keyIdx} → ${cur.keyIdx} (key frame ${cur.keyframe})`);
  }
  return problems;
}

/** Waits a little for retransmissions to fill any hole the subscriber NACKed, then expects none. */
async function expectNoSequenceGaps(packets: readonly Received[], what: string): Promise<void> {
  await waitUntil(() => sequenceGaps(packets).length === 0, 3000, `${what}: retransmissions to fill the gaps`).catch(() => undefined);
  expect(sequenceGaps(packets), `${what}: outgoing RTP sequence numbers missing`).toEqual([]);
}

/**
 * The first packet of layer `to` that arrived from arrival number `from` on, and checks that the switch to it was
 * seamless: it begins a key frame and directly follows (outgoing sequence number + 1) a packet of layer `was`,
 * with a later timestamp, the next PictureID, and TL0PICIDX/KEYIDX one on; no packet of `was` follows it.
 */
function expectSeamlessSwitch(packets: readonly Received[], was: string, to: string, from: number): { first: Ordered; last: Ordered } {
  const ordered = inSequenceOrder(packets);
  const index = ordered.findIndex((p) => p.n >= from && p.payload?.rid === to);
  expect(index, `a packet of layer ${to}`).toBeGreaterThan(0);
  const first = ordered[index];
  const last = ordered[index - 1];
  const label = `switch ${was}→${to} at outgoing seq ${first.sequenceNumber}`;
  expect(first.payload?.keyframe, `${label}: the first packet begins a key frame`).toBe(true);
  expect(last.extended, `${label}: no sequence gap`).toBe(first.extended - 1);
  expect(last.payload?.rid, `${label}: the packet before it`).toBe(was);
  const step = (first.timestamp - last.timestamp) >>> 0;
  expect(step, `${label}: timestamp moves forward`).toBeGreaterThan(0);
  expect(step, `${label}: timestamp moves forward by less than a second`).toBeLessThan(90_000);
  expect(first.payload!.pictureId, `${label}: PictureID`).toBe((last.payload!.pictureId + 1) & 0x7fff);
  expect(first.payload!.tl0PicIdx, `${label}: TL0PICIDX`).toBe((last.payload!.tl0PicIdx + 1) & 0xff);
  expect(first.payload!.keyIdx, `${label}: KEYIDX`).toBe((last.payload!.keyIdx + 1) & 0x1f);
  expect(ordered.slice(index).filter((p) => p.payload?.rid === was).length, `${label}: packets of ${was} after it`).toBe(0);
  return { first, last };
}

test('two simulcast cameras on one connection: each reaches the subscriber as its own track, from its top layer only', async () => {
  const room = 'simulcast-two-cameras';
  const publisher = await publish(room, 'cams', { cameras: 2 });
  expect(publisher.trackIds).toHaveLength(2);

  // At the SFU: one track per camera, three layers each in the order described, each with the SSRC it is sent on.
  const ssrcs: number[] = [];
  publisher.trackIds.forEach((trackId, camera) => {
    const track = publishedTrack(room, 'cams', trackId)!;
    expect(track.simulcast).toBe(true);
    expect(track.layers.map((l) => l.rid)).toEqual(RIDS);
    expect(track.layers.map((l) => l.ssrc)).toEqual(RIDS.map((rid) => publisher.layer(camera, rid).ssrc));
    ssrcs.push(...track.layers.map((l) => l.ssrc));
  });
  expect(new Set(ssrcs).size).toBe(6);

  const sub = await subscribe(room, 'viewer');
  await waitUntil(() => publisher.trackIds.every((id) => sub.of(id).length >= 60), 15_000, 'both cameras flowing to the viewer');
  // Once the SFU's receiver reports have named every SSRC, the publisher stops sending MID/RID (as libwebrtc):
  // the layers must keep arriving, routed by SSRC alone.
  await waitUntil(() => publisher.layers.every((l) => l.acked), 10_000, "the SFU's reports to name every layer's SSRC");
  const afterAck = sub.packets.length;
  await waitUntil(() => publisher.trackIds.every((id) => sub.of(id).filter((p) => p.n >= afterAck).length >= 60), 10_000, 'media without MID/RID');

  publisher.trackIds.forEach((trackId, camera) => {
    const packets = sub.of(trackId);
    expect(
      [...new Set(packets.map((p) => (p.payload ? `cam${p.payload.camera}/${p.payload.rid}` : 'unreadable')))],
      `what the viewer got on camera ${camera}'s track`,
    ).toEqual([`cam${camera}/f`]);
    expect(downTrack(room, 'viewer', trackId).currentLayer).toBe(2);
  });
  for (const trackId of publisher.trackIds) {
    await expectNoSequenceGaps(sub.of(trackId), trackId);
    expect(vp8Discontinuities(sub.of(trackId))).toEqual([]);
  }
});

test('setMaxLayer(0) switches the subscriber to the low layer at its key frame, seamlessly; setMaxLayer(2) back up', async () => {
  const room = 'simulcast-max-layer';
  const publisher = await publish(room, 'cam', { keyframeIntervalMs: NO_PERIODIC_KEYFRAMES });
  const [trackId] = publisher.trackIds;
  const sub = await subscribe(room, 'viewer');
  await waitUntil(() => countOf(sub.of(trackId), 'f') >= 60, 15_000, 'the top layer flowing');
  const down = downTrack(room, 'viewer', trackId);
  expect(down.currentLayer).toBe(2);

  for (const [maxLayer, was, to, direction] of [
    [0, 'f', 'q', 'down'],
    [2, 'q', 'f', 'up'],
  ] as const) {
    const target = publisher.layer(0, to);
    const plisBefore = target.plis;
    const switchesBefore = await metricTotal(server, 'tsfu_sfu_layer_switches_total', `direction="${direction}"`);
    const mark = sub.packets.length;
    down.setMaxLayer(maxLayer);
    await waitUntil(() => countOf(sub.packets.slice(mark), to) >= 30, 10_000, `layer ${to} after setMaxLayer(${maxLayer})`);
    expect(target.plis, `PLIs for layer ${to}'s SSRC`).toBeGreaterThan(plisBefore);
    expect(down.currentLayer).toBe(maxLayer);
    expect(await metricTotal(server, 'tsfu_sfu_layer_switches_total', `direction="${direction}"`)).toBe(switchesBefore + 1);
    expectSeamlessSwitch(sub.of(trackId), was, to, mark);
  }
  // Only the two layers asked for, never the middle one.
  expect(ridsOf(sub.of(trackId)).sort()).toEqual(['f', 'q']);
  await expectNoSequenceGaps(sub.of(trackId), 'the viewer');
  expect(vp8Discontinuities(sub.of(trackId))).toEqual([]);
});

test('when the publisher stops its top layer, subscribers move to the next one within 2 s, and back when it resumes', async () => {
  const room = 'simulcast-layer-stops';
  const publisher = await publish(room, 'cam', { keyframeIntervalMs: NO_PERIODIC_KEYFRAMES });
  const [trackId] = publisher.trackIds;
  const subs = [await subscribe(room, 'viewer 1'), await subscribe(room, 'viewer 2')];
  await waitUntil(() => subs.every((s) => countOf(s.of(trackId), 'f') >= 60), 15_000, 'the top layer flowing to both');

  // Down: the browser's uplink got worse and it turned its top layer off.
  const h = publisher.layer(0, 'h');
  const hPlis = h.plis;
  const marks = subs.map((s) => s.packets.length);
  const stoppedAt = performance.now();
  publisher.setSending(0, 'f', false);
  await waitUntil(() => subs.every((s, i) => countOf(s.packets.slice(marks[i]), 'h') >= 30), 10_000, 'both on the middle layer');
  expect(h.plis, "PLIs for the middle layer's SSRC").toBeGreaterThan(hPlis);
  subs.forEach((s, i) => {
    const { first, last } = expectSeamlessSwitch(s.of(trackId), 'f', 'h', marks[i]);
    const freeze = first.at - last.at;
    console.log(`viewer ${i + 1}: top layer stopped → middle layer after ${(first.at - stoppedAt).toFixed(0)} ms, picture frozen ${freeze.toFixed(0)} ms`);
    expect(freeze, `viewer ${i + 1}: time without video (ms)`).toBeLessThan(MAX_SWITCH_FREEZE_MS);
    expect(first.at - stoppedAt, `viewer ${i + 1}: stop → middle layer (ms)`).toBeLessThan(MAX_SWITCH_FREEZE_MS);
  });

  // Up: the top layer comes back (starting with a key frame, as an encoder's does).
  const upMarks = subs.map((s) => s.packets.length);
  const resumedAt = performance.now();
  publisher.setSending(0, 'f', true);
  await waitUntil(() => subs.every((s, i) => countOf(s.packets.slice(upMarks[i]), 'f') >= 30), 10_000, 'both on the top layer again');
  subs.forEach((s, i) => {
    const { first } = expectSeamlessSwitch(s.of(trackId), 'h', 'f', upMarks[i]);
    console.log(`viewer ${i + 1}: top layer resumed → received after ${(first.at - resumedAt).toFixed(0)} ms`);
    // The middle layer flowed until the switch: no freeze at all going up.
    const window = s.of(trackId).filter((p) => p.at >= resumedAt - 100 && p.at <= first.at);
    const longestGap = Math.max(0, ...window.slice(1).map((p, k) => p.at - window[k].at));
    expect(longestGap, `viewer ${i + 1}: longest gap between packets while switching up (ms)`).toBeLessThan(MAX_SWITCH_FREEZE_MS / 2);
  });
  for (const s of subs) {
    expect(countOf(s.of(trackId), 'q'), 'packets of the low layer (never the highest one sent)').toBe(0);
    await expectNoSequenceGaps(s.of(trackId), s.bot.identity);
    expect(vp8Discontinuities(s.of(trackId))).toEqual([]);
  }
});

test('the layer a subscriber is limited to goes silent: it waits for it rather than taking a higher one, for 3 s, then takes the next one up (no black video)', async () => {
  const room = 'simulcast-allocated-layer-stops';
  const publisher = await publish(room, 'cam', { keyframeIntervalMs: NO_PERIODIC_KEYFRAMES });
  const [trackId] = publisher.trackIds;
  const sub = await subscribe(room, 'viewer');
  await waitUntil(() => countOf(sub.of(trackId), 'f') >= 60, 15_000, 'the top layer flowing');
  const down = downTrack(room, 'viewer', trackId);
  down.setMaxLayer(0);
  await waitUntil(() => down.currentLayer === 0 && countOf(sub.of(trackId), 'q') >= 30, 10_000, 'the low layer');
  // An encoder restarting its layers: the low one is silent for a moment. A congested subscriber must not be sent a
  // key frame of a layer it cannot carry.
  const h = publisher.layer(0, 'h');
  const hPlis = h.plis;
  const mark = sub.packets.length;
  const stoppedAt = performance.now();
  publisher.setSending(0, 'q', false);
  await new Promise((resolve) => setTimeout(resolve, 2000));
  expect(countOf(sub.packets.slice(mark), 'h') + countOf(sub.packets.slice(mark), 'f'), 'packets above the allocated layer in the first 2 s').toBe(0);
  expect(h.plis, "PLIs for the middle layer's SSRC in the first 2 s").toBe(hPlis);
  // Silent for longer: the next layer up, rather than no video at all.
  await waitUntil(() => countOf(sub.packets.slice(mark), 'h') >= 30, 10_000, 'the middle layer after the wait');
  const first = sub.packets.slice(mark).find((p) => p.payload?.rid === 'h')!;
  console.log(`allocated layer silent → next layer up after ${(first.at - stoppedAt).toFixed(0)} ms`);
  expect(first.at - stoppedAt).toBeGreaterThanOrEqual(3000);
  // Back: the allocated layer again, at its key frame.
  const backMark = sub.packets.length;
  publisher.setSending(0, 'q', true);
  await waitUntil(() => countOf(sub.packets.slice(backMark), 'q') >= 30, 10_000, 'the low layer again');
  expect(down.currentLayer).toBe(0);
  await expectNoSequenceGaps(sub.of(trackId), 'the viewer');
  expect(vp8Discontinuities(sub.of(trackId))).toEqual([]);
});

test('a packet lost on a simulcast layer on its way to the SFU is NACKed, repaired over RTX with repaired-rid, and forwarded', async () => {
  const room = 'simulcast-loss';
  const publisher = await publish(room, 'cam');
  const [trackId] = publisher.trackIds;
  const sub = await subscribe(room, 'viewer');
  await waitUntil(() => countOf(sub.of(trackId), 'f') >= 60, 15_000, 'the top layer flowing');
  const f = publisher.layer(0, 'f');
  const recoveredBefore = await metricTotal(server, 'tsfu_sfu_publisher_lost_packets_total{result="recovered"}');

  // One packet in 7 of the top layer is lost, 12 in all; nothing else is.
  const LOST = 12;
  let made = 0;
  publisher.dropFirstTransmission = (layer) => layer === f && f.dropped.length < LOST && ++made % 7 === 0;
  await waitUntil(() => f.dropped.length === LOST, 10_000, 'the losses');
  const lastSent = (f.sequenceNumber - 1) & 0xffff;

  // From its first packet (a key frame) to the last one sent during the losses, the viewer gets every packet.
  const received = () => new Set(sub.of(trackId).map((p) => p.payload?.sequenceNumber));
  const first = sub.of(trackId)[0].payload!.sequenceNumber;
  const expected = Array.from({ length: ((lastSent - first) & 0xffff) + 1 }, (_, i) => (first + i) & 0xffff);
  const missing = () => expected.filter((seq) => !received().has(seq));
  await waitUntil(() => missing().length === 0, 10_000, 'every packet of the top layer at the viewer').catch(() => undefined);
  expect(missing(), 'packets of the top layer the viewer never got').toEqual([]);
  for (const seq of f.dropped) expect(f.nacked, `NACKs for ${seq}`).toContain(seq);
  expect(f.retransmissions).toBeGreaterThanOrEqual(LOST);
  // werift learned the RTX SSRC from the repaired-rid: its receiver reports (every 0.5–1.5 s) name it.
  await waitUntil(() => f.rtxAcked, 5000, "the SFU's reports to name the RTX SSRC").catch(() => undefined);
  expect(f.rtxAcked, "the SFU's reports name the RTX SSRC").toBe(true);
  expect(await metricTotal(server, 'tsfu_sfu_publisher_lost_packets_total{result="recovered"}')).toBeGreaterThanOrEqual(recoveredBefore + LOST);
  expect(ridsOf(sub.of(trackId))).toEqual(['f']);
  await expectNoSequenceGaps(sub.of(trackId), 'the viewer');
  expect(vp8Discontinuities(sub.of(trackId))).toEqual([]);
});

test('a subscriber whose link carries only the low layer at a quarter of its frame rate gets TID 0 frames only, with no sequence or PictureID gap', async () => {
  const room = 'simulcast-temporal';
  // Three packets a frame at the low layer: a dropped frame's packets all give their numbers back.
  const publisher = await publish(room, 'cam', { keyframeIntervalMs: NO_PERIODIC_KEYFRAMES, packetsPerFrame: [3, 2, 3] });
  const [trackId] = publisher.trackIds;
  const sub = await subscribe(room, 'viewer');
  await waitUntil(() => countOf(sub.of(trackId), 'f') >= 60, 15_000, 'the top layer flowing');
  const q = publishedTrack(room, 'cam', trackId)!.layers[0];
  // Each layer is priced per temporal layer: the publisher sends L1T3 (TIDs 0 2 1 2), equal frames, so TID 0 is a quarter.
  await waitUntil(() => q.temporalLayers === 2, 5000, 'the low layer priced per temporal layer');
  expect(q.temporalShare(0)).toBeCloseTo(0.25, 1);
  // An estimate with room for the low layer's TID 0 only (110 % of it is what a flowing track may keep). Given again,
  // a little lower each time, every 500 ms: each fall counts as congestion, so no probe raises it meanwhile.
  const allocator = server.sfu.room(room).participant('viewer')!.subscriber.allocator;
  const low = 0.35 * q.expectedBitrateBps(performance.now());
  let bps = low;
  allocator.onEstimate(bps);
  const hold = setInterval(() => allocator.onEstimate((bps -= 1)), 500);
  cleanups.push(async () => clearInterval(hold));
  const down = downTrack(room, 'viewer', trackId);
  expect(down.maxLayer).toBe(0);
  expect(down.maxTemporalLayer).toBe(0);
  const mark = sub.packets.length;
  const framesOfQ = () => sub.packets.slice(mark).filter((p) => p.payload?.rid === 'q' && p.payload.startOfFrame).length;
  await waitUntil(() => framesOfQ() >= 10, 15_000, 'ten frames of the low layer');
  const started = performance.now();
  const before = framesOfQ();
  await waitUntil(() => performance.now() - started >= 2000, 3000, 'two more seconds');
  const afterSwitch = sub.of(trackId).filter((p) => p.n >= mark && p.payload?.rid === 'q');
  expect(afterSwitch.every((p) => p.payload!.temporalId === 0), 'TIDs received').toBe(true);
  // 30 fps: about 7.5 TID 0 frames a second.
  const perSecond = (framesOfQ() - before) / 2;
  expect(perSecond).toBeGreaterThan(5);
  expect(perSecond).toBeLessThan(10);
  await expectNoSequenceGaps(sub.of(trackId), 'the viewer');
  expect(vp8Discontinuities(sub.of(trackId))).toEqual([]);
  // The client was told the frame rate is cut.
  const states = sub.bot.signaling.messages.filter((m) => m.type === 'trackState' && m.trackId === trackId);
  expect(states.at(-1)).toMatchObject({ paused: false, layer: 0, maxTemporalLayer: 0 });
});

test('after everyone leaves, no room, participant, track, down track or peer connection is left', async () => {
  const room = 'simulcast-leave';
  const publisher = await publish(room, 'cams', { cameras: 2 });
  const subs = [await subscribe(room, 'viewer 1'), await subscribe(room, 'viewer 2')];
  await waitUntil(() => subs.every((s) => publisher.trackIds.every((id) => s.of(id).length >= 30)), 15_000, 'both cameras flowing to both viewers');
  const during = server.sfu.dump();
  expect(during.participants).toBe(3);
  expect(during.publishedTracks).toBe(2);
  expect(during.downTracks).toBe(4);
  expect(during.peerConnections).toBe(4); // the publisher's two, each viewer's subscriber connection

  await publisher.close();
  await publisher.close(); // idempotent
  expect(publisher.timersRunning, "the publisher's frame and report timers").toBe(0);
  for (const s of subs) await s.bot.close();
  await waitUntil(() => server.sfu.rooms.size === 0, 10_000, 'the room to close');
  expect(server.sfu.dump()).toEqual({ rooms: [], participants: 0, publishedTracks: 0, downTracks: 0, peerConnections: 0 });
});
