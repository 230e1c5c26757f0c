import type { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { Bot, waitUntil } from '../helpers/bot.js';
import { NodeProcess } from '../helpers/node-process.js';
import { RedisProcess } from '../helpers/redis-process.js';
import { joinFollowingRedirects, SignalingClient, testToken } from '../helpers/signaling-client.js';

/*
 * Redis killed for 30 s and restarted empty, under two node processes with the default timings (node TTL 3 s,
 * lease TTL 10 s: the outage outlasts both). The running lesson keeps its media and takes a late student; a new room
 * is refused with ROOM_UNAVAILABLE (1013, retry later); after the restart both nodes are registered again, the
 * lesson's lease is back under its epoch, and nobody was disconnected.
 */
const OUTAGE_MS = 30_000;
const ROOM = 'lesson through an outage';
let redis: RedisProcess;
let inspect: Redis;
const nodes: NodeProcess[] = [];
const bots: Bot[] = [];

beforeAll(async () => {
  redis = await RedisProcess.start();
  inspect = redis.client();
  for (const [id, port] of [['a', 47000], ['b', 48000]] as const) {
    nodes.push(await NodeProcess.start(id, { TSFU_REDIS_URL: redis.url, TSFU_RTC_PORT_MIN: String(port), TSFU_RTC_PORT_MAX: String(port + 999) }));
  }
});
afterAll(async () => {
  for (const bot of bots) await bot.close();
  for (const node of nodes) await node.kill('SIGKILL');
  inspect?.disconnect();
  await redis?.stop();
});

async function storeUp(node: NodeProcess): Promise<number> {
  const metrics = await (await fetch(`${node.url}/metrics`)).text();
  return Number(/^tsfu_cluster_store_up (\d)/m.exec(metrics)?.[1]);
}

async function refusedJoin(url: string, room: string): Promise<{ code: string; close: number }> {
  const raw = await SignalingClient.connect(url);
  raw.send({ type: 'join', room, token: await testToken({ room, identity: 'refused' }) });
  const error = await raw.waitFor('error');
  return { code: error.code, close: (await raw.closed).code };
}

test(`Redis away for ${OUTAGE_MS / 1000} s: the running lesson keeps its media and takes joins, new rooms are refused, and after the restart everything is registered again with nobody disconnected`, { timeout: 180_000 }, async () => {
  const teacher = await Bot.join(nodes[0].signalingUrl, ROOM, 'teacher');
  bots.push(teacher);
  await teacher.publish({ audio: false, videoKbps: 300 });
  const student = await Bot.join(nodes[1].signalingUrl, ROOM, 'student');
  bots.push(student);
  const video = (bot: Bot) => [...bot.received.values()].filter((t) => t.kind === 'video').reduce((n, t) => n + t.packets, 0);
  await waitUntil(() => video(student) > 30, 15_000, 'the student receiving video');
  const lease = (await inspect.get(`tsfu:room:${ROOM}`))!;
  const [ownerId, epoch] = lease.split(' ');
  const owner = nodes.find((n) => n.nodeId === ownerId)!;
  const other = nodes.find((n) => n !== owner)!;
  const closes: string[] = [];
  const watch = (bot: Bot) => void bot.signaling.closed.then(({ code }) => closes.push(`${bot.identity} ${code}`));

  // Media is sampled every 250 ms from here to the end: the longest stretch without a new packet.
  let longestStallMs = 0;
  let last = { at: performance.now(), packets: video(student) };
  const sampler = setInterval(() => {
    const now = performance.now();
    if (video(student) > last.packets) last = { at: now, packets: video(student) };
    longestStallMs = Math.max(longestStallMs, now - last.at);
  }, 250);

  try {
    await redis.stop();
    const stoppedAt = performance.now();
    for (const node of nodes) {
      const deadline = performance.now() + 5000;
      while ((await storeUp(node)) !== 0) {
        if (performance.now() > deadline) throw new Error(`node ${node.nodeId} did not notice the outage within 5 s`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    // The running lesson takes a late student at its node; a new room, or the lesson through the other node, needs Redis.
    const late = await Bot.join(owner.signalingUrl, ROOM, 'late student');
    bots.push(late);
    await waitUntil(() => video(late) > 30, 15_000, 'the late student receiving video during the outage');
    expect(await refusedJoin(owner.signalingUrl, 'new room')).toEqual({ code: 'ROOM_UNAVAILABLE', close: 1013 });
    expect(await refusedJoin(other.signalingUrl, 'another new room')).toEqual({ code: 'ROOM_UNAVAILABLE', close: 1013 });
    expect(await refusedJoin(other.signalingUrl, ROOM)).toEqual({ code: 'ROOM_UNAVAILABLE', close: 1013 });
    for (const bot of [teacher, student, late]) watch(bot);
    // Timers may fire a fraction of a millisecond early: wait until the whole outage has passed.
    while (performance.now() - stoppedAt < OUTAGE_MS) await new Promise((resolve) => setTimeout(resolve, OUTAGE_MS - (performance.now() - stoppedAt) + 5));
    await redis.restart();

    // Back, empty: both nodes register again, the lesson's lease comes back under its epoch, and the epoch
    // counter with it (a new lease gets a higher one).
    const deadline = performance.now() + 10_000;
    while ((await inspect.get(`tsfu:room:${ROOM}`).catch(() => null)) !== lease || (await inspect.exists('tsfu:node:a', 'tsfu:node:b').catch(() => 0)) !== 2) {
      if (performance.now() > deadline) throw new Error('the nodes and the lease were not back within 10 s of the restart');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    for (const node of nodes) expect(await storeUp(node)).toBe(1);
    expect(Number(await inspect.get('tsfu:lease-epoch'))).toBeGreaterThanOrEqual(Number(epoch));
    const fresh = await joinFollowingRedirects(other.signalingUrl, 'new room', await testToken({ room: 'new room', identity: 'after' }));
    expect(Number((await inspect.get('tsfu:room:new room'))!.split(' ')[1])).toBeGreaterThan(Number(epoch));
    fresh.client.close();
    // Through the other node, the lesson is found on its owner again.
    const returning = await joinFollowingRedirects(other.signalingUrl, ROOM, await testToken({ room: ROOM, identity: 'returning student' }));
    expect(returning.url).toBe(owner.signalingUrl);
    returning.client.close();
    // Nobody was disconnected, and the media never stopped for long.
    const before = video(student);
    await waitUntil(() => video(student) > before + 30, 10_000, 'video still flowing after the restart');
    expect(closes).toEqual([]);
    for (const bot of [teacher, student, late]) expect(bot.signaling.messages.filter((m) => m.type === 'leave')).toEqual([]);
    expect(longestStallMs).toBeLessThan(2000);
    console.info(`outage ${Math.round(OUTAGE_MS / 1000)} s; longest stretch without video at the student: ${Math.round(longestStallMs)} ms (sampled every 250 ms)`);
  } finally {
    clearInterval(sampler);
    if (!redis.running) await redis.restart();
  }
});
