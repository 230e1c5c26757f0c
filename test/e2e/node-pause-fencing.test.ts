import type { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { Bot } from '../helpers/bot.js';
import { NodeProcess } from '../helpers/node-process.js';
import { RedisProcess } from '../helpers/redis-process.js';

/*
 * LiveKit's worst cluster failure (a room live on two nodes, or deleted by one while people are on the other):
 * the node serving a room is frozen (SIGSTOP) past its lease, the room is placed again on the other node by the
 * next join, and then the frozen node wakes up (SIGCONT). It must learn at once that its lease is gone and stop
 * serving the room: its clients are told the room moved and join the new owner. Two node processes, werift bots,
 * a redis-server of the test's own.
 */
let redis: RedisProcess;
let inspect: Redis;
const nodes: NodeProcess[] = [];
const bots: Bot[] = [];
const ROOM = 'frozen node';
const leaseKey = `tsfu:room:${ROOM}`;

beforeAll(async () => {
  redis = await RedisProcess.start();
  inspect = redis.client();
  for (const [id, port] of [['a', 43000], ['b', 44000]] as const) {
    nodes.push(await NodeProcess.start(id, { TSFU_REDIS_URL: redis.url, TSFU_RTC_PORT_MIN: String(port), TSFU_RTC_PORT_MAX: String(port + 999) }));
  }
});
afterAll(async () => {
  for (const bot of bots) await bot.close();
  for (const node of nodes) await node.kill('SIGKILL');
  inspect?.disconnect();
  await redis?.stop();
});

test('a node frozen past its lease wakes up to find its room placed elsewhere, and stops serving it at once', async () => {
  const [a, b] = nodes;
  const early = await Bot.join(a.signalingUrl, ROOM, 'early student');
  bots.push(early);
  const [ownerId, epoch] = (await inspect.get(leaseKey))!.split(' ');
  const owner = ownerId === 'a' ? a : b;
  const other = owner === a ? b : a;

  owner.pause();
  // Frozen: it publishes nothing; once it is known dead (3 s), a join through the other node places the room there.
  const deadline = Date.now() + 10_000;
  while ((await inspect.exists(`tsfu:node:${ownerId}`)) === 1) {
    if (Date.now() > deadline) throw new Error('the frozen node was still registered after 10 s');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const late = await Bot.join(other.signalingUrl, ROOM, 'late student');
  bots.push(late);
  const [newOwner, newEpoch] = (await inspect.get(leaseKey))!.split(' ');
  expect(newOwner).toBe(other.nodeId);
  expect(Number(newEpoch)).toBeGreaterThan(Number(epoch));

  // Awake: its next renewal fails, it closes the room and tells its client, which joins the owner.
  owner.resume();
  const leave = await early.signaling.waitFor('leave', () => true, 10_000);
  expect(leave.reason).toBe('room-moved');
  expect((await early.signaling.closed).code).toBe(4012);
  // The lease stayed the new owner's: the woken node neither renewed nor deleted it.
  expect(await inspect.get(leaseKey)).toBe(`${newOwner} ${newEpoch}`);
  const rejoined = await Bot.join(owner.signalingUrl, ROOM, 'early student');
  bots.push(rejoined);
  expect(rejoined.signaling.messages.some((m) => m.type === 'joined')).toBe(true);
  // Through the woken node, it was redirected to the owner, where the late student is.
  const joined = rejoined.signaling.messages.find((m) => m.type === 'joined') as { participants: { identity: string }[] };
  expect(joined.participants.map((p) => p.identity)).toEqual(['late student']);
});
