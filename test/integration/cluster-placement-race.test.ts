import type { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { RunningServer } from '../../server/app.js';
import { waitUntil } from '../helpers/bot.js';
import { RedisProcess } from '../helpers/redis-process.js';
import { startTestServer } from '../helpers/server.js';
import { joinFollowingRedirects, testToken } from '../helpers/signaling-client.js';

/*
 * The placement race: three nodes in one process sharing a redis-server of the test's own; 1,000 new rooms, each
 * joined by three clients at once, one through each node. Whoever wins the lease, every room must end with exactly
 * one owner and all three clients joined there. Signaling only: the clients join and leave, without media.
 */
const TRIALS = 1000;
const CONCURRENT_ROOMS = 25;
let redis: RedisProcess;
let inspect: Redis;
const nodes: RunningServer[] = [];

beforeAll(async () => {
  redis = await RedisProcess.start();
  inspect = redis.client();
  for (const nodeId of ['a', 'b', 'c']) {
    nodes.push(
      await startTestServer({
        cluster: { redisUrl: redis.url, nodeId, keyPrefix: 'race:', heartbeatMs: 200, nodeTtlMs: 1000, leaseTtlMs: 5000, leaseRenewMs: 1000 },
        signaling: { connectionsPerIpPerSecond: 1_000_000, connectionBurstPerIp: 1_000_000 },
        turn: { enabled: false, announcedIp: '', credentialTtlSeconds: 3600, server: {} },
      }),
    );
  }
  const deadline = Date.now() + 5000;
  while ((await nodes[0].cluster.cluster.nodes()).length < 3) {
    if (Date.now() > deadline) throw new Error('the three nodes did not register within 5 s');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
});
afterAll(async () => {
  for (const node of nodes) await node.close();
  inspect?.disconnect();
  await redis?.stop();
});

async function trial(index: number): Promise<{ ownerId: string; problems: string[] }> {
  const room = `race ${index} 🎓`;
  const joins = await Promise.all(nodes.map(async (node, i) => joinFollowingRedirects(node.signalingUrl, room, await testToken({ room, identity: `client ${i}` }))));
  const problems: string[] = [];
  const [ownerId] = ((await inspect.get(`race:room:${room}`)) ?? '').split(' ');
  const owner = nodes.find((n) => n.cluster.identity.nodeId === ownerId);
  if (!owner) problems.push(`${room}: no lease owner (${ownerId})`);
  for (const join of joins) if (join.url !== owner?.signalingUrl) problems.push(`${room}: a client joined at ${join.url}, the lease is ${ownerId}'s`);
  if (owner && owner.sfu.findRoom(room)?.participants.size !== 3) problems.push(`${room}: ${owner.sfu.findRoom(room)?.participants.size ?? 0} participants on the owner`);
  for (const node of nodes) {
    if (node !== owner && (node.sfu.findRoom(room) || node.cluster.cluster.localRooms.has(room))) problems.push(`${room}: also open on ${node.cluster.identity.nodeId}`);
  }
  for (const join of joins) join.client.close();
  return { ownerId, problems };
}

test(`${TRIALS} new rooms, each joined by three clients through three nodes at once, each end with one owner and everyone joined there`, { timeout: 120_000 }, async () => {
  const problems: string[] = [];
  const owners = new Map<string, number>();
  let next = 0;
  const worker = async () => {
    while (next < TRIALS) {
      const result = await trial(next++);
      problems.push(...result.problems);
      owners.set(result.ownerId, (owners.get(result.ownerId) ?? 0) + 1);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENT_ROOMS }, worker));
  expect(problems).toEqual([]);
  // Every room emptied: no room, lease or held lease is left anywhere.
  await waitUntil(() => nodes.every((n) => n.sfu.rooms.size === 0 && n.cluster.cluster.localRooms.size === 0), 10_000, 'every room to close');
  expect(await inspect.keys('race:room:*')).toEqual([]);
  // The rooms were spread over the nodes: the race was run against three possible winners.
  expect([...owners.keys()].sort()).toEqual(['a', 'b', 'c']);
  for (const count of owners.values()) expect(count).toBeGreaterThan(TRIALS / 10);
});
