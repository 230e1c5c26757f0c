import type { Redis } from 'ioredis';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import type { NodeIdentity } from '../../cluster/cluster-options.js';
import { defaultRedisClusterOptions } from '../../cluster/cluster-options.js';
import type { Cluster } from '../../cluster/cluster-types.js';
import { ClusterUnavailableError } from '../../cluster/errors.js';
import { LocalCluster } from '../../cluster/local-cluster.js';
import { RedisCluster } from '../../cluster/redis-cluster.js';
import { redisKeys } from '../../cluster/redis-keys.js';
import { waitUntil } from '../helpers/bot.js';
import { RedisProcess } from '../helpers/redis-process.js';

const log = pino({ level: 'silent' });
// Short timings so that expiry and renewal happen within a test; the ratios are the defaults'.
const timing = { heartbeatMs: 100, nodeTtlMs: 300, leaseTtlMs: 1000, leaseRenewMs: 200, commandTimeoutMs: 500 };

let redis: RedisProcess;
let inspect: Redis;
const open: Cluster[] = [];
let prefixCount = 0;
let prefix = '';

beforeAll(async () => {
  redis = await RedisProcess.start();
  inspect = redis.client();
});
afterAll(async () => {
  inspect?.disconnect();
  await redis?.stop();
});
afterEach(async () => {
  for (const cluster of open.splice(0)) await cluster.close();
  if (!redis.running) await redis.restart();
});

function identity(nodeId: string): NodeIdentity {
  return { nodeId, signalingUrl: `ws://127.0.0.1/${nodeId}`, mediaAddress: '127.0.0.1', maxParticipants: 100 };
}

async function redisNode(nodeId: string, keyPrefix = prefix): Promise<RedisCluster> {
  const cluster = new RedisCluster(identity(nodeId), { ...defaultRedisClusterOptions, ...timing, keyPrefix, url: redis.url }, log);
  open.push(cluster);
  await cluster.start();
  return cluster;
}


const kinds: [string, () => Promise<Cluster>][] = [
  ['single node', async () => {
    const cluster = new LocalCluster(identity('solo'));
    open.push(cluster);
    await cluster.start();
    return cluster;
  }],
  ['redis', async () => {
    prefix = `t${++prefixCount}:`;
    const cluster = await redisNode('solo');
    await waitUntil(async () => (await cluster.nodes()).length === 1, 2000, 'the node to be registered');
    return cluster;
  }],
];

describe.each(kinds)('%s cluster', (_kind, create) => {
  test('the first join places a room on this node once; after release it is placed again with a higher epoch', async () => {
    const cluster = await create();
    const first = await cluster.locate('maths');
    expect(first).toMatchObject({ kind: 'local', lease: { room: 'maths', nodeId: 'solo' } });
    expect(first.lease.epoch).toBeGreaterThan(0);
    expect(await cluster.locate('maths')).toMatchObject({ kind: 'local', lease: { epoch: first.lease.epoch } });
    expect([...cluster.localRooms.keys()]).toEqual(['maths']);
    await cluster.release('maths');
    await cluster.release('maths');
    expect(cluster.localRooms.size).toBe(0);
    const again = await cluster.locate('maths');
    expect(again.lease.epoch).toBeGreaterThan(first.lease.epoch);
  });

  test('find answers where a room lives without placing it', async () => {
    const cluster = await create();
    expect(await cluster.find('geometry')).toBeUndefined();
    expect(cluster.localRooms.size).toBe(0);
    const placed = await cluster.locate('geometry');
    expect(await cluster.find('geometry')).toEqual(placed);
    await cluster.release('geometry');
    expect(await cluster.find('geometry')).toBeUndefined();
  });

  test('a draining node keeps its rooms and refuses new ones with a retryable error', async () => {
    const cluster = await create();
    await cluster.locate('history');
    cluster.setDraining(true);
    expect((await cluster.locate('history')).kind).toBe('local');
    const error = await cluster.locate('art').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ClusterUnavailableError);
    expect((error as ClusterUnavailableError).retryable).toBe(true);
    cluster.setDraining(false);
    expect((await cluster.locate('art')).kind).toBe('local');
  });

  test('the node lists itself with the load it was given; close is idempotent and leaves no room behind', async () => {
    const cluster = await create();
    cluster.setLoad({ cpu: 0.25, rooms: 3, participants: 42, forwardedBps: 5_000_000 });
    await waitUntil(async () => (await cluster.nodes())[0]?.load.participants === 42, 2000, 'the load to be published');
    const [self] = await cluster.nodes();
    expect(self).toMatchObject({ id: 'solo', signalingUrl: 'ws://127.0.0.1/solo', state: 'serving', load: { cpu: 0.25, rooms: 3 } });
    await cluster.locate('music');
    await cluster.close();
    await cluster.close();
    expect(cluster.localRooms.size).toBe(0);
  });
});

describe('redis cluster with several nodes', () => {
  beforeAll(() => {
    prefix = 'multi:';
  });
  afterEach(async () => {
    await inspect.flushall();
  });

  async function nodes(...ids: string[]): Promise<RedisCluster[]> {
    const started = await Promise.all(ids.map((id) => redisNode(id)));
    await waitUntil(async () => (await started[0].nodes()).length === ids.length, 2000, 'every node to be registered');
    return started;
  }

  test('first joins of the same rooms on two nodes at once agree on one lease per room', async () => {
    const [a, b] = await nodes('a', 'b');
    const rooms = Array.from({ length: 30 }, (_, i) => `room ${i} 🎓`);
    const placements = await Promise.all(rooms.flatMap((room) => [a.locate(room), b.locate(room)]));
    for (let i = 0; i < rooms.length; i++) {
      const [fromA, fromB] = [placements[2 * i], placements[2 * i + 1]];
      expect(fromA.lease).toEqual(fromB.lease);
      // The owner serves it; the other node sends its client there.
      const owner = fromA.lease.nodeId === 'a' ? a : b;
      expect(owner.localRooms.has(rooms[i])).toBe(true);
      expect((fromA.lease.nodeId === 'a' ? fromB : fromA).kind).toBe('remote');
    }
    const epochs = placements.map((p) => p.lease.epoch);
    expect(new Set(epochs).size).toBe(rooms.length);
  });

  test('a new room goes to the less loaded node; a remote placement names its signaling URL', async () => {
    const [a, b] = await nodes('a', 'b');
    a.setLoad({ cpu: 0.9, rooms: 10, participants: 90, forwardedBps: 0 });
    b.setLoad({ cpu: 0.1, rooms: 1, participants: 5, forwardedBps: 0 });
    await waitUntil(async () => (await a.nodes()).every((n) => n.load.rooms > 0), 2000, 'loads to be published');
    const placement = await a.locate('physics');
    expect(placement).toMatchObject({ kind: 'remote', lease: { nodeId: 'b' }, node: { signalingUrl: 'ws://127.0.0.1/b' } });
    // The client arrives at b: b holds the lease it was given and serves the room.
    expect(await b.locate('physics')).toMatchObject({ kind: 'local', lease: placement.lease });
    // Nobody adopted a lease placed for a node whose client never came: it expires and the room is placed again.
    const unused = await a.locate('chemistry');
    expect(unused.lease.nodeId).toBe('b');
    await waitUntil(async () => (await inspect.exists(redisKeys(prefix).room('chemistry'))) === 0, 3000, 'the unused lease to expire');
  });

  test("find names another node's room and its node, and nothing for a dead node's lease", async () => {
    const [a, b] = await nodes('a', 'b');
    // Placement picks either node: the owner adopts its lease as its client's join would.
    const placed = await b.locate('history');
    const [owner, other] = placed.lease.nodeId === 'b' ? [b, a] : [a, b];
    if (placed.kind === 'remote') await owner.locate('history');
    expect(await other.find('history')).toMatchObject({ kind: 'remote', lease: placed.lease, node: { id: owner.nodeId, signalingUrl: `ws://127.0.0.1/${owner.nodeId}` } });
    expect(await owner.find('history')).toEqual({ kind: 'local', lease: placed.lease });
    await inspect.set(redisKeys(prefix).room('latin'), 'ghost 3', 'PX', 60_000);
    expect(await a.find('latin')).toBeUndefined();
    expect(await inspect.get(redisKeys(prefix).room('latin'))).toBe('ghost 3');
  });

  test("a dead node's room is placed again at the next join, with a higher epoch", async () => {
    const [a] = await nodes('a');
    const keys = redisKeys(prefix);
    // A node that died holding "biology": its lease has not expired, but the node is gone from the registry.
    await inspect.set(keys.room('biology'), 'ghost 7', 'PX', 60_000);
    await inspect.set(keys.epoch, 7);
    const placement = await a.locate('biology');
    expect(placement).toMatchObject({ kind: 'local', lease: { nodeId: 'a', epoch: 8 } });
    expect(await inspect.get(keys.room('biology'))).toBe('a 8');
  });

  test('a node whose lease another node took (it was paused or cut off) learns it at its next renewal and stops serving the room', async () => {
    const [a] = await nodes('a');
    const lost: string[] = [];
    a.on('leaseLost', (lease) => lost.push(`${lease.room} ${lease.epoch}`));
    const placement = await a.locate('geography');
    await inspect.set(redisKeys(prefix).room('geography'), `b ${placement.lease.epoch + 1}`, 'PX', 60_000);
    await waitUntil(() => lost.length === 1, 2000, 'the lost lease to be noticed');
    expect(lost).toEqual([`geography ${placement.lease.epoch}`]);
    expect(a.localRooms.has('geography')).toBe(false);
    // Its release cannot delete the new owner's lease.
    await a.release('geography');
    expect(await inspect.get(redisKeys(prefix).room('geography'))).toBe(`b ${placement.lease.epoch + 1}`);
  });

  test('Redis goes away: running rooms keep being served, a new room gets a retryable error; when Redis comes back empty, the node re-registers and re-asserts its leases', async () => {
    const [a] = await nodes('a');
    const states: boolean[] = [];
    const lost: unknown[] = [];
    a.on('storeState', (up) => states.push(up));
    a.on('leaseLost', (lease) => lost.push(lease));
    const placement = await a.locate('latin');
    await redis.stop();
    await waitUntil(() => states.includes(false), 2000, 'the outage to be noticed');
    expect(await a.locate('latin')).toMatchObject({ kind: 'local', lease: placement.lease });
    const error = await a.locate('greek').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ClusterUnavailableError);
    // Longer than a lease lasts: still served.
    await new Promise((resolve) => setTimeout(resolve, timing.leaseTtlMs + 200));
    expect(a.localRooms.has('latin')).toBe(true);
    await redis.restart();
    await waitUntil(() => states.at(-1) === true, 5000, 'the store to be back');
    const keys = redisKeys(prefix);
    await waitUntil(async () => (await inspect.get(keys.room('latin'))) === `a ${placement.lease.epoch}`, 3000, 'the lease to be re-asserted');
    expect((await a.nodes()).map((n) => n.id)).toEqual(['a']);
    // The epoch counter came back with it: a new lease gets a higher epoch than the re-asserted one.
    expect((await a.locate('greek')).lease.epoch).toBeGreaterThan(placement.lease.epoch);
    expect(lost).toEqual([]);
  });

  test('a closed node leaves the registry at once and releases its leases', async () => {
    const [a, b] = await nodes('a', 'b');
    await a.locate('drama');
    await b.locate('drama');
    expect(a.localRooms.size + b.localRooms.size).toBe(1);
    await a.close();
    await b.close();
    expect(await inspect.zcard(redisKeys(prefix).nodes)).toBe(0);
    expect(await inspect.exists(redisKeys(prefix).room('drama'))).toBe(0);
  });
});
