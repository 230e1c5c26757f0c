import { afterAll, beforeAll, expect, test } from 'vitest';
import type { RunningServer } from '../../server/app.js';
import { Bot } from '../helpers/bot.js';
import { startTestServer } from '../helpers/server.js';
import { SignalingClient, testToken } from '../helpers/signaling-client.js';

let server: RunningServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.close();
});

test('a draining node keeps its lessons and their joins, refuses new rooms (retryable), answers readyz 503, and stops waiting once its rooms are empty or the drain time is over', async () => {
  const teacher = await Bot.join(server.signalingUrl, 'running lesson', 'teacher');
  const startedAt = performance.now();
  const drained = server.drain(60_000);
  expect((await fetch(`${server.url}/readyz`)).status).toBe(503);
  expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  // The running lesson still takes a late student.
  const student = await Bot.join(server.signalingUrl, 'running lesson', 'late student');
  expect(server.sfu.room('running lesson').participants.size).toBe(2);
  // A new room is refused: the SDK retries, and in a cluster lands on another node.
  const raw = await SignalingClient.connect(server.signalingUrl);
  raw.send({ type: 'join', room: 'new lesson', token: await testToken({ room: 'new lesson', identity: 'x' }) });
  expect((await raw.waitFor('error')).code).toBe('ROOM_UNAVAILABLE');
  expect((await raw.closed).code).toBe(1013);
  // Bounded: a drain of 300 ms is over after 300 ms though the lesson still runs.
  const boundedAt = performance.now();
  await server.drain(300);
  expect(performance.now() - boundedAt).toBeGreaterThanOrEqual(290);
  expect(performance.now() - boundedAt).toBeLessThan(5000);
  expect(server.sfu.room('running lesson').participants.size).toBe(2);
  // The lesson ends: the drain is over long before its 60 s.
  await teacher.close();
  await student.close();
  await drained;
  expect(performance.now() - startedAt).toBeLessThan(30_000);
});
