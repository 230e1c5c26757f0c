import { afterAll, afterEach, beforeAll, expect, test } from 'vitest';
import type { RunningServer } from '../../server/app.js';
import { Bot, waitUntil } from '../helpers/bot.js';
import { RedisProcess } from '../helpers/redis-process.js';
import { metricTotal, startTestServer } from '../helpers/server.js';
import { SignalingClient, testToken } from '../helpers/signaling-client.js';

/*
 * Two media nodes in one process, coordinated by a redis-server of the test's own: a room is served by one node, a
 * client may connect to either, and the other sends it to the right one.
 */
let redis: RedisProcess;
let nodeA: RunningServer;
let nodeB: RunningServer;
const bots: Bot[] = [];
async function until(condition: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
const fast = { heartbeatMs: 100, nodeTtlMs: 400, leaseTtlMs: 1000, leaseRenewMs: 200 };

async function node(nodeId: string): Promise<RunningServer> {
  return startTestServer({ cluster: { redisUrl: redis.url, nodeId, keyPrefix: 'nodes:', ...fast } });
}

beforeAll(async () => {
  redis = await RedisProcess.start();
  nodeA = await node('a');
  nodeB = await node('b');
  await until(async () => (await nodeA.cluster.cluster.nodes()).length === 2, 5000, 'both nodes to be registered');
});
afterEach(async () => {
  for (const bot of bots.splice(0)) await bot.close();
  nodeA.cluster.cluster.setDraining(false);
  nodeB.cluster.cluster.setDraining(false);
});
afterAll(async () => {
  await nodeA?.close();
  await nodeB?.close();
  await redis?.stop();
});

test("a client that connects to the other node is redirected to the room's node, and media flows between clients that came in through both", async () => {
  // Node a takes no new room: the room is placed on b.
  nodeA.cluster.cluster.setDraining(true);
  const raw = await SignalingClient.connect(nodeA.signalingUrl);
  raw.send({ type: 'join', room: 'lesson', token: await testToken({ room: 'lesson', identity: 'probe' }) });
  const redirect = await raw.waitFor('redirect');
  expect(redirect).toEqual({ type: 'redirect', signalingUrl: nodeB.signalingUrl, nodeId: 'b' });
  expect((await raw.closed).code).toBe(4011);
  nodeA.cluster.cluster.setDraining(false);
  // Through either node, everyone ends up on b, and sees the others.
  const teacher = await Bot.join(nodeA.signalingUrl, 'lesson', 'teacher');
  bots.push(teacher);
  const student = await Bot.join(nodeB.signalingUrl, 'lesson', 'student');
  bots.push(student);
  await teacher.publish({ audio: false });
  const videoPackets = () => [...student.received.values()].filter((t) => t.kind === 'video').reduce((n, t) => n + t.packets, 0);
  await waitUntil(() => videoPackets() > 50, 15_000, 'the student to receive the teacher\'s video');
  // Data both ways, as on one node.
  await Promise.all([teacher.dataReady(), student.dataReady()]);
  student.sendData('a question');
  teacher.sendData('an answer', { to: ['student'] });
  await waitUntil(() => teacher.data.some((d) => d.text === 'a question') && student.data.some((d) => d.text === 'an answer'), 10_000, 'data both ways');
  expect(nodeA.sfu.rooms.size).toBe(0);
  expect(nodeB.sfu.room('lesson').participants.size).toBe(2);
  expect(await metricTotal(nodeA, 'tsfu_signaling_redirects_total')).toBe(2);
});

test('the room emptied: its lease is released, and its next first join may place it anywhere', async () => {
  const bot = await Bot.join(nodeA.signalingUrl, 'short lesson', 'only');
  const owner = nodeA.sfu.findRoom('short lesson') ? nodeA : nodeB;
  expect(owner.cluster.cluster.localRooms.has('short lesson')).toBe(true);
  await bot.close();
  await waitUntil(() => !owner.cluster.cluster.localRooms.has('short lesson'), 5000, 'the lease to be released');
  expect(owner.sfu.rooms.size).toBe(0);
});

test('a node that loses a lease (another node holds it now) tells its clients the room moved and closes the room', async () => {
  const bot = await Bot.join(nodeA.signalingUrl, 'moved', 'student');
  bots.push(bot);
  const owner = nodeA.sfu.findRoom('moved') ? nodeA : nodeB;
  const inspect = redis.client();
  const lease = owner.cluster.cluster.localRooms.get('moved')!;
  await inspect.set(`nodes:room:moved`, `elsewhere ${lease.epoch + 1}`, 'PX', 60_000);
  inspect.disconnect();
  const leave = await bot.signaling.waitFor('leave');
  expect(leave.reason).toBe('room-moved');
  expect((await bot.signaling.closed).code).toBe(4012);
  await waitUntil(() => owner.sfu.rooms.size === 0, 5000, 'the room to close');
  expect(await metricTotal(owner, 'tsfu_cluster_leases_lost_total')).toBe(1);
});

test('Redis away: a running room keeps accepting joins; a new room is refused with ROOM_UNAVAILABLE and close code 1013 (retry later)', async () => {
  const first = await Bot.join(nodeA.signalingUrl, 'during outage', 'first');
  bots.push(first);
  const owner = nodeA.sfu.findRoom('during outage') ? nodeA : nodeB;
  await redis.stop();
  try {
    await waitUntil(() => !owner.cluster.cluster.storeUp, 5000, 'the outage to be noticed');
    expect(await metricTotal(owner, 'tsfu_cluster_store_up')).toBe(0);
    const second = await Bot.join(owner.signalingUrl, 'during outage', 'second');
    bots.push(second);
    expect(owner.sfu.room('during outage').participants.size).toBe(2);
    const raw = await SignalingClient.connect(owner.signalingUrl);
    raw.send({ type: 'join', room: 'new room', token: await testToken({ room: 'new room', identity: 'x' }) });
    const error = await raw.waitFor('error');
    expect(error.code).toBe('ROOM_UNAVAILABLE');
    expect((await raw.closed).code).toBe(1013);
    expect(await metricTotal(owner, 'tsfu_cluster_joins_located_total', 'result="unavailable"')).toBe(1);
  } finally {
    await redis.restart();
  }
  await until(async () => (await nodeA.cluster.cluster.nodes()).length === 2, 10_000, 'both nodes to be registered again');
});
