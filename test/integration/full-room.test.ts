import { monitorEventLoopDelay } from 'node:perf_hooks';
import { afterAll, afterEach, beforeAll, expect, test } from 'vitest';
import type { RunningServer } from '../../server/app.js';
import { CloseCode, ErrorCode } from '../../signaling/errors.js';
import { Bot, waitUntil, type BotOptions } from '../helpers/bot.js';
import { joinRoom } from '../helpers/signaling-client.js';
import { startTestServer } from '../helpers/server.js';

/** Participants in the short full-room run (bench/full-room.ts runs 100). */
const ROOM_SIZE = Number(process.env.TSFU_FULL_ROOM_SIZE ?? 30);
const JOIN_SPACING_MS = 150;

let server: RunningServer;
/** A server whose subscriber offers time out quickly, for the unanswered-offer tests. */
let impatient: RunningServer;
const bots: Bot[] = [];
const join = async (srv: RunningServer, room: string, identity: string, options: BotOptions = {}) => {
  const bot = await Bot.join(srv.signalingUrl, room, identity, undefined, options);
  bots.push(bot);
  return bot;
};
const mLines = (sdp: string) => sdp.split(/\r?\nm=/).length - 1;
const latestOffer = (bot: Bot) => bot.signaling.messages.filter((m) => m.type === 'subscriberOffer').at(-1) as { sdp: string; tracks: Record<string, string> } | undefined;

beforeAll(async () => {
  server = await startTestServer();
  impatient = await startTestServer({ rtc: { subscriberAnswerTimeoutMs: 400, maxTracksPerParticipant: 2 } });
});
afterEach(async () => {
  await Promise.all(bots.splice(0).map((bot) => bot.close()));
  await waitUntil(() => server.sfu.rooms.size === 0 && impatient.sfu.rooms.size === 0, 10_000, 'rooms to empty');
  expect(server.sfu.dump().peerConnections).toBe(0);
});
afterAll(async () => {
  await server?.close();
  await impatient?.close();
});

test(`a room of ${ROOM_SIZE} participants, each publishing camera and microphone, negotiates completely`, async () => {
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  const startedAt = performance.now();
  const room: Bot[] = [];
  const published = new Map<string, string[]>();
  const joining: Promise<void>[] = [];
  for (let i = 0; i < ROOM_SIZE; i++) {
    joining.push(
      (async () => {
        const bot = await join(server, 'full', `student ${i}`);
        room.push(bot);
        published.set(bot.identity, await bot.publish({ sendMedia: false }));
      })(),
    );
    await new Promise((resolve) => setTimeout(resolve, JOIN_SPACING_MS));
  }
  await Promise.all(joining);
  const othersTracks = (bot: Bot) => [...published].filter(([identity]) => identity !== bot.identity).flatMap(([, ids]) => ids);
  await waitUntil(() => room.every((bot) => bot.hasNegotiated(othersTracks(bot))), 90_000, 'every participant to negotiate every other track');
  const convergedMs = performance.now() - startedAt;
  loop.disable();
  for (const bot of room) {
    expect(bot.negotiationErrors).toEqual([]);
    expect(bot.signaling.messages.filter((m) => m.type === 'error')).toEqual([]);
    expect(Object.keys(bot.answeredTracks)).toHaveLength(2 * (ROOM_SIZE - 1));
  }
  // Offers are folded: far fewer than one per published track per subscriber.
  const offers = room.reduce((n, bot) => n + bot.offersReceived, 0);
  expect(offers).toBeLessThan(ROOM_SIZE * ROOM_SIZE);
  const biggest = Math.max(...room.map((bot) => latestOffer(bot)!.sdp.length));
  console.log(
    `full room: ${ROOM_SIZE} participants converged ${(convergedMs / 1000).toFixed(1)} s after the first join; ` +
      `${offers} offers; largest offer ${biggest} chars; max event-loop delay (bots and server share the process) ${(loop.max / 1e6).toFixed(0)} ms`,
  );
  expect(server.sfu.dump().downTracks).toBe(ROOM_SIZE * (ROOM_SIZE - 1) * 2);
});

test('without autoSubscribe a participant receives only what it subscribes to, and a freed m-line is reused', async () => {
  const alice = await join(server, 'select', 'alice');
  const carol = await join(server, 'select', 'carol');
  const [aliceVideo, aliceAudio] = await alice.publish({ sendMedia: false });
  const [carolVideo] = await carol.publish({ audio: false, sendMedia: false });
  const bob = await join(server, 'select', 'bob', { autoSubscribe: false });
  await waitUntil(() => bob.answersSent >= 1, 10_000, "bob's first offer answered");
  expect(Object.values(bob.answeredTracks)).toEqual([]);
  expect(bob.signaling.messages.find((m) => m.type === 'joined')!.participants.flatMap((p) => p.tracks)).toHaveLength(3);

  bob.subscribe([aliceVideo, aliceAudio]);
  await waitUntil(() => bob.hasNegotiated([aliceVideo, aliceAudio]), 10_000, 'alice tracks negotiated');
  const before = mLines(latestOffer(bob)!.sdp);

  bob.unsubscribe([aliceVideo]);
  await waitUntil(() => !Object.values(bob.answeredTracks).includes(aliceVideo), 10_000, 'alice video unsubscribed');
  bob.subscribe([carolVideo]);
  await waitUntil(() => bob.hasNegotiated([carolVideo, aliceAudio]), 10_000, 'carol video negotiated');
  // carol's video took the m-line alice's video left: the offer did not grow.
  expect(mLines(latestOffer(bob)!.sdp)).toBe(before);
  expect(server.sfu.room('select').participant('bob')!.subscriber.downTracks.size).toBe(2);

  const unknown = await bob.signaling.expectError({ type: 'subscribe', trackIds: ['TR_nope'] });
  expect(unknown).toMatchObject({ code: ErrorCode.TRACK_NOT_FOUND, requestType: 'subscribe' });
  const own = await alice.signaling.expectError({ type: 'subscribe', trackIds: [aliceVideo] });
  expect(own.code).toBe(ErrorCode.TRACK_NOT_FOUND);
});

test('identities with spaces, CR/LF, non-Latin scripts and emoji never enter the SDP', async () => {
  const identities = ['Ms Smith', 'evil\r\na=msid:x y\r\nm=video 9', 'Žofie Nováková', '王小明', 'مريم', '🦄 unicorn 🎉'];
  const publishers = [];
  for (const identity of identities) {
    const bot = await join(server, 'names', identity);
    publishers.push({ bot, tracks: await bot.publish({ sendMedia: false }) });
  }
  const viewer = await join(server, 'names', 'viewer');
  const all = publishers.flatMap((p) => p.tracks);
  await waitUntil(() => viewer.hasNegotiated(all), 20_000, 'viewer negotiates every track');
  const sdp = latestOffer(viewer)!.sdp;
  for (const identity of identities) expect(sdp).not.toContain(identity.split('\r\n')[0]);
  expect(viewer.offeredMsids).toHaveLength(all.length);
  const joined = viewer.signaling.messages.find((m) => m.type === 'joined')!;
  const sids = new Set(joined.participants.map((p) => p.sid));
  for (const msid of viewer.offeredMsids) {
    const [streamId] = msid.split(' ');
    expect(msid).toMatch(/^PA_[A-Za-z0-9_-]+ [A-Za-z0-9_-]+$/);
    expect(sids.has(streamId)).toBe(true);
  }
  // Each publisher's two tracks share one stream (lip sync), distinct per publisher.
  expect(new Set(viewer.offeredMsids.map((m) => m.split(' ')[0])).size).toBe(identities.length);
  expect(viewer.negotiationErrors).toEqual([]);
});

test('a subscriber offer that is never answered is sent again, then the session ends with NEGOTIATION_FAILED', async () => {
  const { client } = await joinRoom(impatient.signalingUrl, 'silent', 'mute');
  const first = await client.waitFor('subscriberOffer');
  const again = await client.waitFor('subscriberOffer', (m) => m !== first, 5000);
  expect(again.sdp).toBe(first.sdp);
  const error = await client.waitFor('error', (m) => m.code === ErrorCode.NEGOTIATION_FAILED, 5000);
  expect(error.message).toMatch(/subscriberAnswer/);
  expect((await client.closed).code).toBe(CloseCode.NEGOTIATION_FAILED);
});

test('an answer whose m-lines do not match the offer gets INVALID_SDP, and the offer is sent again', async () => {
  const alice = await join(impatient, 'mismatch', 'alice');
  await alice.publish({ sendMedia: false });
  const { client } = await joinRoom(impatient.signalingUrl, 'mismatch', 'bob');
  const offer = await client.waitFor('subscriberOffer');
  expect(mLines(offer.sdp)).toBe(3);
  // An answer with only the first m-line (the data channel section cut off).
  const truncated = offer.sdp.split(/\r\nm=/).slice(0, 2).join('\r\nm=').replace('a=sendonly', 'a=recvonly');
  const error = await client.expectError({ type: 'subscriberAnswer', sdp: truncated });
  expect(error).toMatchObject({ code: ErrorCode.INVALID_SDP, requestType: 'subscriberAnswer' });
  expect(error.message).toMatch(/1 m-lines; the offer it answers has 3/);
  const again = await client.waitFor('subscriberOffer', (m) => m !== offer, 5000);
  expect(again.sdp).toBe(offer.sdp);
  client.close();
});

test('publisher candidates sent before the first publishOffer are queued, within a bound', async () => {
  const { client } = await joinRoom(impatient.signalingUrl, 'early', 'alice');
  const candidate = { candidate: 'candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host', sdpMid: '0', sdpMLineIndex: 0 };
  for (let i = 0; i < 32; i++) client.send({ type: 'trickle', target: 'publisher', candidate });
  const error = await client.expectError({ type: 'trickle', target: 'publisher', candidate });
  expect(error).toMatchObject({ code: ErrorCode.LIMIT_EXCEEDED, requestType: 'trickle' });
  expect(client.messages.filter((m) => m.type === 'error')).toHaveLength(1);
  client.close();
});

test('an offer with more tracks than a participant may publish is refused with LIMIT_EXCEEDED', async () => {
  const alice = await join(impatient, 'cap', 'alice');
  const { createPeerConnection } = await import('../../sfu/peer/peer-factory.js');
  const { defaultSfuOptions } = await import('../../sfu/sfu-options.js');
  const publisher = createPeerConnection({ ...defaultSfuOptions, portMin: 50000, portMax: 59999 });
  for (let i = 0; i < 3; i++) publisher.addTransceiver(i % 2 ? 'audio' : 'video', { direction: 'sendonly' });
  await publisher.setLocalDescription(await publisher.createOffer());
  const error = await alice.signaling.expectError({ type: 'publishOffer', sdp: publisher.localDescription!.sdp, tracks: [] });
  expect(error).toMatchObject({ code: ErrorCode.LIMIT_EXCEEDED, requestType: 'publishOffer' });
  expect(error.message).toMatch(/3 tracks.*at most 2/);
  expect(impatient.sfu.room('cap').participant('alice')!.publishedTracks.size).toBe(0);
  await publisher.close();
});

test('a media connection that fails on the server is reported: CONNECTION_FAILED, participantLeft, close 4009', async () => {
  const observer = await join(server, 'fails', 'observer');
  const failing = await join(server, 'fails', 'failing');
  await failing.dataReady();
  // werift reports ICE/DTLS failure through connectionStateChange; reaching a real `failed` takes a broken network
  // and werift's timers, so the state change is injected where werift would make it.
  const pc = (server.sfu.room('fails').participant('failing')!.subscriber as unknown as { pc: { connectionStateChange: { execute(s: string): void } } }).pc;
  pc.connectionStateChange.execute('failed');
  const error = await failing.signaling.waitFor('error', (m) => m.code === ErrorCode.CONNECTION_FAILED);
  expect(error.message).toMatch(/subscriber media connection failed/);
  expect((await failing.signaling.closed).code).toBe(CloseCode.CONNECTION_FAILED);
  const left = await observer.signaling.waitFor('participantLeft', (m) => m.identity === 'failing');
  expect(left.reason).toBe('connection-failed');
  expect(server.sfu.room('fails').participant('failing')).toBeUndefined();
});

test('looking a room up does not create it', () => {
  expect(server.sfu.findRoom('never-joined')).toBeUndefined();
  expect(() => server.sfu.room('never-joined')).toThrow(/does not exist/);
  expect(server.sfu.rooms.size).toBe(0);
});
