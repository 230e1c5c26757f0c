import type { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { NodeProcess } from '../helpers/node-process.js';
import { RedisProcess } from '../helpers/redis-process.js';
import { joinFollowingRedirects, SignalingClient, testToken } from '../helpers/signaling-client.js';

/*
 * A node process killed with SIGKILL: its sockets are closed by the kernel, so Redis drops its presence subscription
 * at once. The other node takes its rooms as soon as it is also late for a heartbeat (1.5 s at the default 1 s),
 * not after its registration expires (3 s); a join that arrives meanwhile is held, not sent to the dead node.
 */
let redis: RedisProcess;
let inspect: Redis;
const nodes: NodeProcess[] = [];
const ROOM = 'killed node';

beforeAll(async () => {
  redis = await RedisProcess.start();
  inspect = redis.client();
  for (const [id, port] of [['a', 45000], ['b', 46000]] as const) {
    nodes.push(await NodeProcess.start(id, { TSFU_REDIS_URL: redis.url, TSFU_RTC_PORT_MIN: String(port), TSFU_RTC_PORT_MAX: String(port + 999) }));
  }
});
afterAll(async () => {
  for (const node of nodes) await node.kill('SIGKILL');
  inspect?.disconnect();
  await redis?.stop();
});

test('a join through the surviving node right after the kill is held and served there within a heartbeat and a half, while the dead node is still registered', async () => {
  const first = await joinFollowingRedirects(nodes[0].signalingUrl, ROOM, await testToken({ room: ROOM, identity: 'teacher' }));
  const [ownerId, epoch] = (await inspect.get(`tsfu:room:${ROOM}`))!.split(' ');
  const owner = nodes.find((n) => n.nodeId === ownerId)!;
  const survivor = nodes.find((n) => n !== owner)!;

  const killedAt = performance.now();
  await owner.kill('SIGKILL');
  expect((await first.client.closed).code).toBe(1006);
  const student = await SignalingClient.connect(survivor.signalingUrl);
  student.send({ type: 'join', room: ROOM, token: await testToken({ room: ROOM, identity: 'student' }) });
  const reply = await student.waitForOneOf(['joined', 'redirect', 'error'], 10_000);
  const heldMs = performance.now() - killedAt;
  // The dead node's key has not expired: its closed connection, not its TTL, told the survivor.
  const deadNodeTtl = await inspect.pttl(`tsfu:node:${ownerId}`);
  expect(reply.type).toBe('joined');
  expect(heldMs).toBeLessThan(2000);
  expect(deadNodeTtl).toBeGreaterThan(0);
  const [newOwner, newEpoch] = (await inspect.get(`tsfu:room:${ROOM}`))!.split(' ');
  expect(newOwner).toBe(survivor.nodeId);
  expect(Number(newEpoch)).toBeGreaterThan(Number(epoch));
  console.info(`joined on the survivor ${Math.round(heldMs)} ms after the kill; the dead node's key had ${deadNodeTtl} ms left`);
  student.close();
});
