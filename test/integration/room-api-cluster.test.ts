import { afterAll, beforeAll, expect, test } from 'vitest';
import type { RunningServer } from '../../server/app.js';
import { RoomServiceClient } from '../../server/room-api/room-service-client.js';
import { Bot, waitUntil } from '../helpers/bot.js';
import { RedisProcess } from '../helpers/redis-process.js';
import { startTestServer, TEST_KID, TEST_SECRET } from '../helpers/server.js';

/*
 * The room service API on two nodes coordinated by a redis-server of the test's own: either node lists every room of
 * the cluster and acts on a room served by the other (the request is forwarded to it).
 */
let redis: RedisProcess;
let nodeA: RunningServer;
let nodeB: RunningServer;
const bots: Bot[] = [];
const fast = { heartbeatMs: 100, nodeTtlMs: 400, leaseTtlMs: 1000, leaseRenewMs: 200 };

beforeAll(async () => {
  redis = await RedisProcess.start();
  nodeA = await startTestServer({ cluster: { redisUrl: redis.url, nodeId: 'a', keyPrefix: 'api:', ...fast } });
  nodeB = await startTestServer({ cluster: { redisUrl: redis.url, nodeId: 'b', keyPrefix: 'api:', ...fast } });
  await waitUntil(async () => (await nodeA.cluster.cluster.nodes()).length === 2, 5000, 'both nodes to be registered');
});
afterAll(async () => {
  await Promise.all(bots.map((bot) => bot.close()));
  await nodeA?.close();
  await nodeB?.close();
  await redis?.stop();
});

/** Creates `room` through `via` while the other node takes no new room, so that it lands on `on`. */
async function createOn(on: RunningServer, via: RoomServiceClient, room: string, options = {}) {
  const other = on === nodeA ? nodeB : nodeA;
  other.cluster.cluster.setDraining(true);
  try {
    await waitUntil(async () => (await on.cluster.cluster.nodes()).some((n) => n.id === other.cluster.identity.nodeId && n.state === 'draining'), 5000, 'the drain to be published');
    return await via.createRoom(room, options);
  } finally {
    other.cluster.cluster.setDraining(false);
  }
}

test('either node lists the rooms of both, and reads, updates, messages, moderates and deletes a room served by the other', async () => {
  const viaA = new RoomServiceClient(nodeA.url, TEST_KID, TEST_SECRET);
  // The signaling URL of a node works as the client's address too.
  const viaB = new RoomServiceClient(nodeB.signalingUrl, TEST_KID, TEST_SECRET);
  const onB = await createOn(nodeB, viaA, 'physics', { metadata: 'room on b' });
  expect(onB).toMatchObject({ name: 'physics', nodeId: 'b', metadata: 'room on b' });
  expect(nodeB.roomRegistry.get('physics')).toBeDefined();
  expect(nodeA.roomRegistry.get('physics')).toBeUndefined();
  expect(await createOn(nodeA, viaB, 'maths')).toMatchObject({ name: 'maths', nodeId: 'a' });
  // Creating again through the other node returns the room where it is.
  expect(await viaB.createRoom('physics')).toMatchObject({ nodeId: 'b', metadata: 'room on b' });

  for (const client of [viaA, viaB]) {
    const rooms = await client.listRooms();
    expect(rooms.map((r) => [r.name, r.nodeId])).toEqual([['maths', 'a'], ['physics', 'b']]);
  }

  // Participants join through node a and are redirected to b.
  const alice = await Bot.join(nodeA.signalingUrl, 'physics', 'alice');
  const bob = await Bot.join(nodeA.signalingUrl, 'physics', 'bob');
  bots.push(alice, bob);
  expect(nodeB.sfu.findRoom('physics')?.participants.size).toBe(2);
  expect((await viaA.listParticipants('physics')).map((p) => p.identity).sort()).toEqual(['alice', 'bob']);
  expect((await viaA.listRooms()).find((r) => r.name === 'physics')?.numParticipants).toBe(2);

  await viaA.updateRoomMetadata('physics', 'updated through a');
  expect(await alice.signaling.waitFor('roomUpdated')).toMatchObject({ metadata: 'updated through a' });
  await Promise.all([alice.dataReady(), bob.dataReady()]);
  expect(await viaA.sendData('physics', 'from a', { destinationIdentities: ['bob'] })).toBe(1);
  await waitUntil(() => bob.data.some((d) => d.text === 'from a' && d.from === ''), 5000, 'the data message to bob');

  await viaB.removeParticipant('physics', 'bob');
  expect((await bob.signaling.closed).code).toBe(4013);
  expect((await viaA.listParticipants('physics')).map((p) => p.identity)).toEqual(['alice']);

  await viaA.deleteRoom('physics');
  expect((await alice.signaling.closed).code).toBe(4015);
  expect(nodeB.sfu.findRoom('physics')).toBeUndefined();
  expect(nodeB.roomRegistry.get('physics')).toBeUndefined();
  expect(await nodeA.cluster.cluster.find('physics')).toBeUndefined();
  expect((await viaB.listRooms()).map((r) => r.name)).toEqual(['maths']);

  await viaA.deleteRoom('maths');
  expect(await viaB.listRooms()).toEqual([]);
  await expect(viaB.deleteRoom('maths')).rejects.toMatchObject({ status: 404, code: 'ROOM_NOT_FOUND' });
});
