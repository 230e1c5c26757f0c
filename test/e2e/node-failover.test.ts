import type { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { launchChromium, type LaunchedChromium } from '../helpers/chromium.js';
import { assertClientBuilt, BrowserParticipant, eventually } from '../helpers/browser-participant.js';
import { NodeProcess } from '../helpers/node-process.js';
import { RedisProcess } from '../helpers/redis-process.js';

/*
 * Two media nodes, each a process of its own as operators run them, and a redis-server of the test's own. A teacher
 * and a student in Chromium; the node serving their room is killed (SIGKILL). The SDK joins again through the other
 * node, publishes again and receives again, with no help from the page.
 */
let redis: RedisProcess;
let inspect: Redis;
let browser: LaunchedChromium;
const nodes: NodeProcess[] = [];
const people: BrowserParticipant[] = [];
const ROOM = 'failover';

beforeAll(async () => {
  assertClientBuilt();
  redis = await RedisProcess.start();
  inspect = redis.client();
  for (const [id, port] of [['a', 41000], ['b', 42000]] as const) {
    nodes.push(await NodeProcess.start(id, { TSFU_REDIS_URL: redis.url, TSFU_RTC_PORT_MIN: String(port), TSFU_RTC_PORT_MAX: String(port + 999) }));
  }
  browser = await launchChromium();
});
afterAll(async () => {
  for (const p of people) await p.close().catch(() => undefined);
  await browser?.close();
  for (const node of nodes) await node.kill('SIGTERM');
  inspect?.disconnect();
  await redis?.stop();
});

test('the node serving a lesson is killed: both browsers join again through the other node and video flows again within seconds', async () => {
  const [a, b] = nodes;
  const urls = [b.signalingUrl];
  const teacher = await BrowserParticipant.join(browser, a, ROOM, 'teacher', { width: 640, height: 360, urls });
  const student = await BrowserParticipant.join(browser, a, ROOM, 'student', { video: false, audio: false, urls });
  people.push(teacher, student);
  const decoding = async () => (await student.inbound()).filter((s) => s.kind === 'video' && s.framesDecoded > 0);
  const before = await eventually(decoding, (v) => v.length === 1 && v[0].framesDecoded > 30, 30_000, 'the student decoding the teacher');
  const lease = (await inspect.get(`tsfu:room:${ROOM}`))!;
  const [ownerId, epoch] = lease.split(' ');
  const owner = nodes.find((n) => n.nodeId === ownerId)!;
  const survivor = nodes.find((n) => n !== owner)!;

  const killedAt = Date.now();
  await owner.kill('SIGKILL');
  // A new subscription (the teacher's track published again) decoding frames.
  const after = await eventually(
    decoding,
    (v) => v.some((s) => s.trackIdentifier !== before[0].trackIdentifier && s.framesDecoded > 0),
    30_000,
    'the student decoding the teacher again',
  );
  const recoveredMs = Date.now() - killedAt;
  console.info(`media again ${recoveredMs} ms after the kill (${after.length} video inbound); room was on ${ownerId}`);

  for (const person of [teacher, student]) {
    const reconnecting = await person.events<{ code: number; at: number }>('reconnecting');
    const reconnected = await person.events<{ at: number }>('reconnected');
    expect(reconnecting.length, `${person.identity} reconnecting`).toBe(1);
    expect(reconnected.length, `${person.identity} reconnected`).toBe(1);
    expect(await person.events('disconnected')).toEqual([]);
    console.info(`${person.identity}: reconnecting (code ${reconnecting[0].code}) to reconnected in ${reconnected[0].at - reconnecting[0].at} ms`);
  }
  // One node serves the room now, under a newer lease.
  const [newOwner, newEpoch] = (await inspect.get(`tsfu:room:${ROOM}`))!.split(' ');
  expect(newOwner).toBe(survivor.nodeId);
  expect(Number(newEpoch)).toBeGreaterThan(Number(epoch));
  // The target is 5 s; asserted with room for a loaded two-core machine, measured in the log above.
  expect(recoveredMs).toBeLessThan(10_000);
});
