import { afterAll, afterEach, beforeAll, expect, test } from 'vitest';
import type { RunningServer } from '../../server/app.js';
import { CloseCode, ErrorCode } from '../../signaling/errors.js';
import { Bot, waitUntil } from '../helpers/bot.js';
import { joinRoom, SignalingClient, testToken } from '../helpers/signaling-client.js';
import { startTestServer } from '../helpers/server.js';

/** Short, so that the silent connection's participant is gone soon after its heartbeat timeout. */
const GRACE_MS = 500;
let server: RunningServer;
const bots: Bot[] = [];
const join = async (room: string, identity: string, grants?: Parameters<typeof Bot.join>[3]) => {
  const bot = await Bot.join(server.signalingUrl, room, identity, grants);
  bots.push(bot);
  return bot;
};

beforeAll(async () => {
  server = await startTestServer({ signaling: { heartbeatIntervalMs: 200, heartbeatTimeoutMs: 700, resumeGraceMs: GRACE_MS }, rtc: { maxDataMessageBytes: 1000 } });
});
afterEach(async () => {
  for (const bot of bots.splice(0)) await bot.close();
  await waitUntil(() => server.sfu.rooms.size === 0, 5000, 'rooms to empty');
});
afterAll(async () => {
  await server?.close();
});

/** After everyone leaves, nothing remains in the SFU or the signaling registry. */
function expectNothingLeft(): void {
  expect(server.sfu.dump()).toEqual({ rooms: [], participants: 0, publishedTracks: 0, downTracks: 0, peerConnections: 0 });
  expect(server.signaling.joinedCount).toBe(0);
}

test('the join reply carries a snapshot of the room with published tracks', async () => {
  const alice = await join('snap', 'alice');
  const published = await alice.publish();
  const { client, joined } = await joinRoom(server.signalingUrl, 'snap', 'bob');
  expect(joined.participant.identity).toBe('bob');
  expect(joined.participants).toHaveLength(1);
  expect(joined.participants[0].identity).toBe('alice');
  expect(joined.participants[0].tracks.map((t) => t.trackId).sort()).toEqual([...published].sort());
  expect(joined.participants[0].tracks.find((t) => t.kind === 'video')).toMatchObject({ source: 'camera', mimeType: 'video/VP8' });
  expect(joined.heartbeat).toEqual({ intervalMs: 200, timeoutMs: 700 });
  expect(joined.limits.maxDataMessageBytes).toBe(1000);
  client.close();
});

test('a late joiner receives tracks published before it joined, with a key frame first', async () => {
  const alice = await join('late', 'alice');
  const ids = await alice.publish();
  await new Promise((r) => setTimeout(r, 300));
  const bob = await join('late', 'bob');
  await bob.receivesTracks(2, 10);
  expect([...bob.received.keys()].sort()).toEqual([...ids].sort());
  const video = [...bob.received.values()].find((t) => t.kind === 'video')!;
  expect(video.payloadTypes).toEqual(new Set([96]));
});

test('everyone is told when a participant joins, publishes, unpublishes and leaves', async () => {
  const alice = await join('events', 'alice');
  const bob = await join('events', 'bob');
  const joinedMsg = await alice.signaling.waitFor('participantJoined', (m) => m.participant.identity === 'bob');
  expect(joinedMsg.participant.tracks).toEqual([]);
  const [videoId] = await bob.publish({ audio: false });
  const published = await alice.signaling.waitFor('trackPublished', (m) => m.track.trackId === videoId);
  expect(published.track).toMatchObject({ participantIdentity: 'bob', kind: 'video', source: 'camera' });
  await alice.receivesTracks(1, 5);

  bob.signaling.send({ type: 'unpublish', trackId: videoId });
  const unpublished = await alice.signaling.waitFor('trackUnpublished', (m) => m.trackId === videoId);
  expect(unpublished.participantIdentity).toBe('bob');
  // Alice's subscriber connection is renegotiated without the track: an offer after the unpublish leaves it out.
  await waitUntil(() => server.sfu.dump().downTracks === 0, 5000, 'down track removed');
  const after = alice.signaling.messages.indexOf(unpublished);
  const offer = await alice.signaling.waitFor('subscriberOffer', (m) => alice.signaling.messages.indexOf(m) > after);
  expect(Object.values(offer.tracks)).not.toContain(videoId);

  await bob.close();
  const left = await alice.signaling.waitFor('participantLeft', (m) => m.identity === 'bob');
  expect(left.reason).toBe('disconnected');
});

test('an explicit leave closes with 1000 and the room disappears', async () => {
  const alice = await join('leave', 'alice');
  await alice.publish();
  alice.signaling.send({ type: 'leave' });
  expect((await alice.signaling.closed).code).toBe(CloseCode.NORMAL);
  await waitUntil(() => server.sfu.rooms.size === 0, 5000, 'room gone');
  expectNothingLeft();
});

test('a second connection with the same identity replaces the first', async () => {
  const observer = await join('replace', 'observer');
  const first = await join('replace', 'alice');
  await first.publish();
  const second = await join('replace', 'alice');
  const leave = await first.signaling.waitFor('leave');
  expect(leave.reason).toBe('replaced');
  expect((await first.signaling.closed).code).toBe(CloseCode.REPLACED);
  const left = await observer.signaling.waitFor('participantLeft', (m) => m.identity === 'alice');
  expect(left.reason).toBe('replaced');
  await observer.signaling.waitFor('participantJoined', (m) => m.participant.identity === 'alice' && observer.signaling.messages.indexOf(m) > observer.signaling.messages.indexOf(left));
  expect(server.sfu.room('replace').participant('alice')).toBeDefined();
  expect(server.sfu.dump().participants).toBe(2);
  // The first connection's tracks went with it.
  expect(server.sfu.dump().publishedTracks).toBe(0);
  await second.dataReady();
});

test('a connection that stops answering pings is closed, and its participant removed once the resume grace period ends', async () => {
  const alice = await join('heartbeat', 'alice');
  const silent = await SignalingClient.connect(server.signalingUrl, { autoPong: false });
  silent.send({ type: 'join', room: 'heartbeat', token: await testToken({ room: 'heartbeat', identity: 'silent' }) });
  await silent.waitFor('joined');
  expect((await silent.closed).code).toBe(CloseCode.HEARTBEAT_TIMEOUT);
  const closedAt = performance.now();
  const left = await alice.signaling.waitFor('participantLeft', (m) => m.identity === 'silent');
  expect(performance.now() - closedAt).toBeGreaterThanOrEqual(GRACE_MS - 100);
  expect(left.reason).toBe('heartbeat-timeout');
  // Alice answers pings (ws does automatically) and is still there, with RTT reports.
  expect(server.sfu.room('heartbeat').participant('alice')).toBeDefined();
  const rtt = await alice.signaling.waitFor('rtt');
  expect(rtt.rttMs).toBeGreaterThanOrEqual(0);
});

test('a connection that never joins is closed with JOIN_TIMEOUT', async () => {
  const quick = await startTestServer({ signaling: { joinTimeoutMs: 200 } });
  try {
    const client = await SignalingClient.connect(quick.signalingUrl);
    const error = await client.waitFor('error');
    expect(error.code).toBe(ErrorCode.JOIN_TIMEOUT);
    expect((await client.closed).code).toBe(CloseCode.JOIN_TIMEOUT);
  } finally {
    await quick.close();
  }
});

test('data messages reach everyone else, or only the named identities, tagged with the sender', async () => {
  const [a, b, c] = [await join('data', 'a'), await join('data', 'b'), await join('data', 'c')];
  await Promise.all([a.dataReady(), b.dataReady(), c.dataReady()]);
  a.sendData('to all', { topic: 'chat' });
  a.sendData('only c', { to: ['c'] });
  a.sendData('lossy to all', { reliable: false });
  await waitUntil(() => b.data.length >= 2 && c.data.length >= 3, 5000, 'data delivered');
  expect(b.data.map((d) => d.text).sort()).toEqual(['lossy to all', 'to all']);
  expect(c.data.map((d) => d.text).sort()).toEqual(['lossy to all', 'only c', 'to all']);
  expect(c.data.find((d) => d.text === 'to all')).toMatchObject({ from: 'a', topic: 'chat', reliable: true });
  expect(c.data.find((d) => d.text === 'lossy to all')).toMatchObject({ reliable: false });
  expect(a.data).toHaveLength(0);
});

test('an oversized data message and one without the grant are refused with a clear error', async () => {
  const a = await join('data-limits', 'a');
  const mute = await join('data-limits', 'mute', { canPublishData: false });
  const b = await join('data-limits', 'b');
  await Promise.all([a.dataReady(), b.dataReady(), mute.dataReady()]);
  a.sendData('x'.repeat(1001));
  const tooBig = await a.signaling.waitFor('error', (m) => m.requestType === 'data');
  expect(tooBig.code).toBe(ErrorCode.DATA_TOO_LARGE);
  mute.sendData('hello');
  const denied = await mute.signaling.waitFor('error', (m) => m.requestType === 'data');
  expect(denied.code).toBe(ErrorCode.PERMISSION_DENIED);
  // Malformed envelope.
  a.channels.reliable.send(Buffer.from([9, 9, 9, 9]));
  const malformed = await a.signaling.waitFor('error', (m) => m.requestType === 'data' && m.code === ErrorCode.SCHEMA_VIOLATION);
  expect(malformed.message).toMatch(/version/);
  await new Promise((r) => setTimeout(r, 200));
  expect(b.data).toHaveLength(0);
});

test('a participant without canSubscribe receives no media', async () => {
  const alice = await join('nosub', 'alice');
  await alice.publish();
  const viewer = await join('nosub', 'blind', { canSubscribe: false });
  await viewer.dataReady();
  await new Promise((r) => setTimeout(r, 500));
  expect(viewer.received.size).toBe(0);
  expect(server.sfu.room('nosub').participant('blind')!.subscriber.downTracks.size).toBe(0);
});

test('when every participant has left, no room, peer, track or session remains', async () => {
  const people = [await join('leak', 'a'), await join('leak', 'b'), await join('leak', 'c')];
  await people[0].publish();
  await people[1].publish();
  await people[2].receivesTracks(4, 5);
  for (const bot of bots.splice(0)) await bot.close();
  await waitUntil(() => server.sfu.rooms.size === 0 && server.signaling.sessionCount === 0, 5000, 'everything closed');
  expectNothingLeft();
});
