import { afterAll, beforeAll, expect, test } from 'vitest';
import type { RunningServer } from '../../server/app.js';
import { Bot, waitUntil } from '../helpers/bot.js';
import { RedisProcess } from '../helpers/redis-process.js';
import { startTestServer, TEST_KID, TEST_SECRET } from '../helpers/server.js';
import { WebhookReceiver } from '../helpers/webhook-receiver.js';

/* Two nodes and one receiver: each node reports the rooms it serves, never those it only redirects to another. */
let redis: RedisProcess;
let receiver: WebhookReceiver;
let nodeA: RunningServer;
let nodeB: RunningServer;
const fast = { heartbeatMs: 100, nodeTtlMs: 400, leaseTtlMs: 1000, leaseRenewMs: 200 };

const node = (nodeId: string) =>
  startTestServer({ cluster: { redisUrl: redis.url, nodeId, keyPrefix: 'hooks:', ...fast }, webhooks: { urls: [receiver.url], apiKey: TEST_KID, backoffInitialMs: 100, backoffMaxMs: 500 } });

beforeAll(async () => {
  redis = await RedisProcess.start();
  receiver = await new WebhookReceiver(TEST_SECRET).start();
  nodeA = await node('a');
  nodeB = await node('b');
  await waitUntil(async () => (await nodeA.cluster.cluster.nodes()).length === 2, 5000, 'both nodes registered');
});
afterAll(async () => {
  await nodeA?.close();
  await nodeB?.close();
  await receiver?.stop();
  await redis?.stop();
});

async function lifecycleThrough(entry: RunningServer, room: string): Promise<void> {
  const bot = await Bot.join(entry.signalingUrl, room, 'student');
  await waitUntil(() => receiver.delivered.some((d) => d.event.room.name === room && d.event.event === 'participant_joined'), 5000, `${room} joined`);
  await bot.close();
  await waitUntil(() => receiver.delivered.some((d) => d.event.room.name === room && d.event.event === 'room_finished'), 10_000, `${room} finished`);
}

test('each node sends the events of the rooms it serves, with its nodeId, when clients come in through the other', async () => {
  nodeA.cluster.cluster.setDraining(true);
  await lifecycleThrough(nodeA, 'on-b');
  nodeA.cluster.cluster.setDraining(false);
  nodeB.cluster.cluster.setDraining(true);
  await lifecycleThrough(nodeB, 'on-a');
  nodeB.cluster.cluster.setDraining(false);

  const story = (room: string) => receiver.delivered.filter((d) => d.event.room.name === room).map((d) => `${d.event.nodeId} ${d.event.event}`);
  expect(story('on-b')).toEqual(['b room_started', 'b participant_joined', 'b participant_left', 'b room_finished']);
  expect(story('on-a')).toEqual(['a room_started', 'a participant_joined', 'a participant_left', 'a room_finished']);
  expect(receiver.delivered.every((d) => d.verified)).toBe(true);
});
