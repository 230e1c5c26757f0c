import { afterAll, beforeAll, expect, test } from 'vitest';
import type { RunningServer } from '../../server/app.js';
import { mintApiToken } from '../../server/room-api/api-token.js';
import { verifyWebhook } from '../../webhooks/index.js';
import { reportMeasurement } from '../helpers/bench-report.js';
import { Bot, waitUntil } from '../helpers/bot.js';
import { startTestServer, TEST_KID, TEST_SECRET } from '../helpers/server.js';
import { WebhookReceiver } from '../helpers/webhook-receiver.js';

let receiver: WebhookReceiver;
let server: RunningServer;

beforeAll(async () => {
  receiver = await new WebhookReceiver(TEST_SECRET).start();
  // No resume grace: a bot that closes its socket leaves at once (the test is about the order of what the SFU reports).
  server = await startTestServer({ signaling: { resumeGraceMs: 0 }, webhooks: { urls: [receiver.url], apiKey: TEST_KID, backoffInitialMs: 100, backoffMaxMs: 500 } });
});
afterAll(async () => {
  await server?.close();
  await receiver?.stop();
});

const ofRoom = (room: string) => receiver.delivered.filter((d) => d.event.room.name === room);
const until = (room: string, n: number, what: string) => waitUntil(() => ofRoom(room).length >= n, 10_000, what);
const untilEvent = (room: string, event: string, identity?: string) =>
  waitUntil(() => ofRoom(room).some((d) => d.event.event === event && (identity === undefined || d.event.participant?.identity === identity)), 10_000, `${event} ${identity ?? ''}`);

test('a room lifecycle arrives in order, signed, with the room, participant and track', async () => {
  const room = 'webhook room 🎓';
  const alice = await Bot.join(server.signalingUrl, room, 'alice ✏️');
  await untilEvent(room, 'participant_joined', 'alice ✏️');
  const [first, second] = await alice.publish();
  await until(room, 4, 'two tracks published');
  const bob = await Bot.join(server.signalingUrl, room, 'bob');
  await untilEvent(room, 'participant_joined', 'bob');
  await bob.close();
  await untilEvent(room, 'participant_left', 'bob');
  const video = ofRoom(room).find((d) => d.event.event === 'track_published' && d.event.track?.kind === 'video')!.event.track!.sid;
  alice.signaling.send({ type: 'unpublish', trackId: video });
  await untilEvent(room, 'track_unpublished', 'alice ✏️');
  await alice.close();
  await untilEvent(room, 'room_finished');

  const events = ofRoom(room).map((d) => d.event);
  // On failure, what happened (a participant the SFU closed by itself shows its reason).
  const story = events.map((e) => `${e.createdAt} ${e.event} ${e.participant?.identity ?? ''} ${e.track?.kind ?? ''} ${e.reason ?? ''}`).join('\n');
  expect(events.map((e) => `${e.event}${e.participant ? ` ${e.participant.identity}` : ''}${e.track ? ` ${e.track.kind}` : ''}`), story).toEqual([
    'room_started',
    'participant_joined alice ✏️',
    ...[`track_published alice ✏️ ${events[2].track!.kind}`, `track_published alice ✏️ ${events[3].track!.kind}`],
    'participant_joined bob',
    'participant_left bob',
    'track_unpublished alice ✏️ video',
    'track_unpublished alice ✏️ audio',
    'participant_left alice ✏️',
    'room_finished',
  ]);
  expect(new Set([events[2].track!.sid, events[3].track!.sid])).toEqual(new Set([first, second]));
  expect(events[2].track).toMatchObject({ source: expect.any(String), mimeType: expect.stringMatching(/^(audio|video)\//) });
  // One room lifetime, one node, unique ids, times in order.
  expect(new Set(events.map((e) => e.room.sid)).size).toBe(1);
  expect(events.every((e) => e.nodeId === server.cluster.identity.nodeId)).toBe(true);
  expect(new Set(events.map((e) => e.id)).size).toBe(events.length);
  expect(events.map((e) => e.createdAt)).toEqual([...events.map((e) => e.createdAt)].sort((a, b) => a - b));
  // participant_left repeats the sid and joinedAt of participant_joined; leaving gives a reason.
  expect(events[5].participant).toEqual(events[4].participant);
  expect(events[5].participant!.sid).toMatch(/.+/);
  expect(events[8].reason).toEqual(expect.any(String));
  const delivered = ofRoom(room);
  expect(delivered.every((d) => d.verified && d.key === TEST_KID)).toBe(true);
});

test('a room created over the API starts when created and finishes when its empty timeout ends, not with its first and last participant', async () => {
  const room = 'created-lesson';
  const token = await mintApiToken({ apiKey: TEST_KID, secret: TEST_SECRET, grants: { roomCreate: true } });
  const response = await fetch(`${server.url}/api/v1/rooms`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: room, emptyTimeoutSeconds: 5 }),
  });
  expect(response.status).toBe(201);
  await untilEvent(room, 'room_started');
  // Two lessons' worth of people coming and going inside the empty timeout: one room lifetime.
  for (const who of ['alice', 'bob']) {
    const bot = await Bot.join(server.signalingUrl, room, who);
    await untilEvent(room, 'participant_joined', who);
    await bot.close();
    await untilEvent(room, 'participant_left', who);
  }
  expect(ofRoom(room).map((d) => d.event.event)).toEqual(['room_started', 'participant_joined', 'participant_left', 'participant_joined', 'participant_left']);
  await untilEvent(room, 'room_finished');
  const events = ofRoom(room).map((d) => d.event);
  expect(events.map((e) => e.event).at(-1)).toBe('room_finished');
  expect(new Set(events.map((e) => e.room.sid)).size).toBe(1);
  expect(server.roomRegistry.size).toBe(0);
});

test('a receiver detects a tampered body or signature', async () => {
  const sample = receiver.delivered[0];
  expect(verifyWebhook(sample.body, sample.signature, TEST_SECRET, 300)).toBe(true);
  expect(verifyWebhook(sample.body.replace('"room_started"', '"room_finished"'), sample.signature, TEST_SECRET, 300)).toBe(false);
  expect(verifyWebhook(sample.body, sample.signature!.replace(/v1=./, (m) => (m.endsWith('0') ? 'v1=1' : 'v1=0')), TEST_SECRET, 300)).toBe(false);
  expect(verifyWebhook(sample.body, sample.signature, 'another-secret-another-secret-another', 300)).toBe(false);
});

test('a receiver that never answers does not slow joins down', async () => {
  const timeJoins = async (target: RunningServer, prefix: string) => {
    const times: number[] = [];
    for (let i = 0; i < 6; i++) {
      const started = performance.now();
      const bot = await Bot.join(target.signalingUrl, `${prefix}-${i}`, 'alice');
      times.push(performance.now() - started);
      await bot.close();
    }
    return times;
  };
  const hanging = await new WebhookReceiver(TEST_SECRET).start();
  hanging.mode = 'hang';
  const slow = await startTestServer({ webhooks: { urls: [hanging.url], apiKey: TEST_KID, timeoutMs: 30_000, shutdownTimeoutMs: 500 } });
  try {
    const healthy = await timeJoins(server, 'healthy');
    const withHanging = await timeJoins(slow, 'hanging');
    await waitUntil(() => slow.sfu.rooms.size === 0, 5000, 'the rooms closed');
    // Every room's 4 events (started, joined, left, finished) queued behind the first one, which still hangs.
    expect(hanging.requests).toHaveLength(1);
    expect(slow.webhooks!.queueLength).toBe(6 * 4);
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    reportMeasurement('join_ms_median_healthy_receiver', Math.round(median(healthy)));
    reportMeasurement('join_ms_median_hanging_receiver', Math.round(median(withHanging)));
    expect(Math.max(...withHanging)).toBeLessThan(2000);
    expect(median(withHanging)).toBeLessThan(median(healthy) * 2 + 50);
  } finally {
    const started = performance.now();
    await slow.close();
    const closeMs = performance.now() - started;
    reportMeasurement('close_ms_with_hanging_receiver', Math.round(closeMs));
    await hanging.stop();
    expect(closeMs).toBeLessThan(500 + 3000);
  }
});

test("a node shutting down delivers its rooms' last events before it exits", async () => {
  const own = await new WebhookReceiver(TEST_SECRET).start();
  const node = await startTestServer({ webhooks: { urls: [own.url], apiKey: TEST_KID, shutdownTimeoutMs: 2000 } });
  const bot = await Bot.join(node.signalingUrl, 'last lesson', 'teacher');
  try {
    await waitUntil(() => own.delivered.length === 2, 5000, 'room_started and participant_joined');
    await node.close();
    expect(own.delivered.map((d) => `${d.event.event} ${d.event.reason ?? ''}`.trim())).toEqual(['room_started', 'participant_joined', expect.stringMatching(/^participant_left /), 'room_finished']);
    expect(node.webhooks!.queueLength).toBe(0);
  } finally {
    await bot.close();
    await node.close();
    await own.stop();
  }
});
