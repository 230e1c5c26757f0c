import { afterAll, beforeAll, expect, test } from 'vitest';
import type { RunningServer } from '../../server/app.js';
import { mintAdminToken } from '../../server/admin-token.js';
import { CloseCode } from '../../signaling/errors.js';
import { Bot, waitUntil } from '../helpers/bot.js';
import { RedisProcess } from '../helpers/redis-process.js';
import { startTestServer, TEST_KID, TEST_SECRET } from '../helpers/server.js';
import { joinFollowingRedirects, SignalingClient, testToken } from '../helpers/signaling-client.js';

/*
 * POST /admin/drain: the same drain as SIGTERM, asked for over HTTP with an admin token. Two nodes in one process
 * sharing a redis-server of the test's own; the drained node has a lesson running, which moves to the other node.
 */
const DRAIN_MS = 1500;
let redis: RedisProcess;
let nodeA: RunningServer;
let nodeB: RunningServer;
const bots: Bot[] = [];
const fast = { heartbeatMs: 100, nodeTtlMs: 400, leaseTtlMs: 1000, leaseRenewMs: 200 };

beforeAll(async () => {
  redis = await RedisProcess.start();
  nodeA = await startTestServer({ cluster: { redisUrl: redis.url, nodeId: 'a', keyPrefix: 'admin:', ...fast }, shutdown: { drainMs: DRAIN_MS, graceMs: 5000 } });
  nodeB = await startTestServer({ cluster: { redisUrl: redis.url, nodeId: 'b', keyPrefix: 'admin:', ...fast } });
  const deadline = Date.now() + 5000;
  while ((await nodeA.cluster.cluster.nodes()).length < 2) {
    if (Date.now() > deadline) throw new Error('both nodes did not register within 5 s');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
});
afterAll(async () => {
  for (const bot of bots) await bot.close();
  await nodeA?.close();
  await nodeB?.close();
  await redis?.stop();
});

const adminToken = (grants: { drain?: boolean }, options: { secret?: string; ttlSeconds?: number; now?: number } = {}) =>
  mintAdminToken({ kid: TEST_KID, secret: options.secret ?? TEST_SECRET, operator: 'ops 🛠', grants, ttlSeconds: options.ttlSeconds, now: options.now });

async function call(method: 'GET' | 'POST', token?: string): Promise<{ status: number; body: Record<string, unknown>; authenticate: string | null }> {
  const response = await fetch(`${nodeA.url}/admin/drain`, { method, headers: token ? { authorization: `Bearer ${token}` } : {} });
  return { status: response.status, body: (await response.json()) as Record<string, unknown>, authenticate: response.headers.get('www-authenticate') };
}

test('drain over HTTP: refused without an admin token (401) or with a join token (403); an admin token drains the node like SIGTERM and its lesson moves to the other node', async () => {
  // A lesson on node a (b takes no new room meanwhile).
  nodeB.cluster.cluster.setDraining(true);
  const teacher = await Bot.join(nodeA.signalingUrl, 'lesson', 'teacher');
  bots.push(teacher);
  nodeB.cluster.cluster.setDraining(false);
  const epochOnA = nodeA.cluster.cluster.localRooms.get('lesson')!.epoch;

  // Refused, with a JSON error saying why; nothing drains.
  const none = await call('POST');
  expect(none).toMatchObject({ status: 401, body: { error: 'UNAUTHORIZED' }, authenticate: 'Bearer realm="tsfu-admin"' });
  expect(String(none.body.message)).toContain('Bearer');
  expect((await call('POST', await adminToken({ drain: true }, { secret: 'another-secret-another-secret-0123456789' }))).body).toMatchObject({ error: 'UNAUTHORIZED', message: 'token signature does not verify' });
  expect((await call('POST', await adminToken({ drain: true }, { now: Date.now() - 3_600_000, ttlSeconds: 60 }))).body).toMatchObject({ error: 'UNAUTHORIZED', message: 'token has expired' });
  const joinToken = await call('POST', await testToken({ room: 'lesson', identity: 'teacher', grants: { roomAdmin: true } }));
  expect(joinToken.status).toBe(403);
  expect(joinToken.body).toMatchObject({ error: 'FORBIDDEN' });
  expect(String(joinToken.body.message)).toContain('a join token cannot drain');
  expect((await call('POST', await adminToken({}))).body).toMatchObject({ error: 'FORBIDDEN', message: 'this admin token does not grant "drain"' });
  expect((await call('GET')).status).toBe(401);
  expect((await fetch(`${nodeA.url}/readyz`)).status).toBe(200);

  // An admin token cannot join a room.
  const raw = await SignalingClient.connect(nodeA.signalingUrl);
  raw.send({ type: 'join', room: 'lesson', token: await adminToken({ drain: true }) });
  expect((await raw.waitFor('error')).code).toBe('TOKEN_INVALID');

  const token = await adminToken({ drain: true });
  expect(await call('GET', token)).toMatchObject({ status: 200, body: { draining: false, drainMs: DRAIN_MS, rooms: 1, participants: 1 } });
  const drainedAt = performance.now();
  const started = await call('POST', token);
  expect(started).toMatchObject({ status: 202, body: { draining: true, reason: 'admin', drainMs: DRAIN_MS, rooms: 1, participants: 1 } });
  expect(Date.parse(String(started.body.startedAt))).toBeGreaterThan(Date.now() - 5000);
  // Asking again changes nothing (the same drain).
  expect((await call('POST', token)).body).toMatchObject({ draining: true, startedAt: started.body.startedAt });
  expect((await fetch(`${nodeA.url}/readyz`)).status).toBe(503);
  // No new room on a: a join there is sent to b.
  const newcomer = await joinFollowingRedirects(nodeA.signalingUrl, 'new lesson', await testToken({ room: 'new lesson', identity: 'x' }));
  expect(newcomer.url).toBe(nodeB.signalingUrl);
  newcomer.client.close();
  // The running lesson keeps a for up to drainMs, then its clients are told to join again elsewhere.
  const leave = await teacher.signaling.waitFor('leave', () => true, 10_000);
  expect(leave.reason).toBe('server-shutdown');
  expect((await teacher.signaling.closed).code).toBe(CloseCode.SERVER_SHUTDOWN);
  expect(performance.now() - drainedAt).toBeGreaterThanOrEqual(DRAIN_MS - 50);
  // Joining again lands on b, under a newer lease; a closed itself and holds nothing.
  const again = await Bot.join(nodeB.signalingUrl, 'lesson', 'teacher');
  bots.push(again);
  expect(nodeB.sfu.findRoom('lesson')?.participants.size).toBe(1);
  expect(nodeB.cluster.cluster.localRooms.get('lesson')!.epoch).toBeGreaterThan(epochOnA);
  await waitUntil(() => nodeA.sfu.rooms.size === 0 && nodeA.cluster.cluster.localRooms.size === 0, 5000, 'node a to hold nothing');
  await expect(fetch(`${nodeA.url}/readyz`)).rejects.toThrow();
});
