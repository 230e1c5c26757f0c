import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { Gauge } from 'prom-client';
import type { RunningServer } from '../../server/app.js';
import { mediaPortPool } from '../../sfu/peer/media-port-pool.js';
import { Bot, waitUntil } from '../helpers/bot.js';
import { startTestServer } from '../helpers/server.js';
import { SignalingClient, testToken } from '../helpers/signaling-client.js';

// A range of this file's own, so the sockets counted below are this server's.
const PORT_MIN = 46100;
const PORT_MAX = 46399;

let server: RunningServer;
beforeAll(async () => {
  server = await startTestServer({
    rtc: { portMin: PORT_MIN, portMax: PORT_MAX },
    // Hundreds of sessions from one address in a few seconds, as the fuzzer made them.
    signaling: { connectionsPerIpPerSecond: 1000, connectionBurstPerIp: 1000 },
  });
});
afterAll(async () => {
  await server?.close();
});

/** UDP sockets of this process bound to a port of the media range, read from the kernel (/proc), not from our own books. */
function udpSocketsInRange(): number {
  const inodes = new Set<string>();
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/self/fd/${fd}`));
      if (match) inodes.add(match[1]);
    } catch {
      // the fd closed while listing
    }
  }
  let count = 0;
  for (const table of ['/proc/net/udp', '/proc/net/udp6']) {
    for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields.length < 10) continue;
      const port = parseInt(fields[1].split(':')[1], 16);
      if (port >= PORT_MIN && port <= PORT_MAX && inodes.has(fields[9])) count++;
    }
  }
  return count;
}

async function mediaSocketsGauge(): Promise<number> {
  const gauge = server.registry.getSingleMetric('tsfu_sfu_media_sockets') as Gauge;
  return (await gauge.get()).values[0]?.value ?? Number.NaN;
}

type Moment = 'after-join-sent' | 'on-joined' | 'after-joined' | 'on-offer';

/** Joins and closes the WebSocket at `moment`; `delayMs` after it for 'after-joined'. */
async function vanish(index: number, moment: Moment, delayMs = 0): Promise<void> {
  const room = `leak-${index % 5}`;
  const identity = `${moment}-${index}`;
  const token = await testToken({ room, identity });
  const client = await SignalingClient.connect(server.signalingUrl);
  if (moment === 'on-joined' || moment === 'on-offer') {
    const type = moment === 'on-joined' ? 'joined' : 'subscriberOffer';
    // Closed from the message handler itself: nothing else runs in between.
    client.socket.on('message', (raw) => {
      if ((JSON.parse(raw.toString()) as { type: string }).type === type) client.close();
    });
  }
  client.send({ type: 'join', room, token });
  if (moment === 'after-join-sent') client.close();
  else if (moment === 'after-joined') {
    await client.waitFor('joined');
    await new Promise((resolve) => setTimeout(resolve, delayMs));
    client.close();
  }
  await client.closed;
}

async function inBatches(count: number, batch: number, run: (i: number) => Promise<void>): Promise<void> {
  for (let start = 0; start < count; start += batch) {
    await Promise.all(Array.from({ length: Math.min(batch, count - start) }, (_, k) => run(start + k)));
  }
}

test('clients that vanish at any moment of a join leave no UDP socket and every port back in the pool', async () => {
  const pool = mediaPortPool('127.0.0.1', PORT_MIN, PORT_MAX);
  // A publisher in each room, so joiners also get tracks to negotiate; it stays to the end.
  const publishers = await Promise.all([0, 1, 2, 3, 4].map((r) => Bot.join(server.signalingUrl, `leak-${r}`, `teacher-${r}`)));
  await Promise.all(publishers.map((p) => p.publish({ audio: false })));
  // Each publisher's subscriber and publisher connections (the subscriber's binds when its first offer is made).
  await waitUntil(() => udpSocketsInRange() === 10, 10_000, 'the publishers\' sockets');
  const baseline = udpSocketsInRange();
  expect(await mediaSocketsGauge()).toBe(10);

  // The fuzzer's case (issue 8 §5): gone between `joined` and `subscriberOffer`, at spread-out moments.
  await inBatches(150, 25, (i) => vanish(i, 'after-joined', i % 40));
  await inBatches(50, 25, (i) => vanish(i, 'on-joined'));
  await inBatches(50, 25, (i) => vanish(i, 'after-join-sent'));
  await inBatches(50, 25, (i) => vanish(i, 'on-offer'));
  // And werift clients that leave with ICE and DTLS in progress.
  await inBatches(10, 5, async (i) => {
    const bot = await Bot.join(server.signalingUrl, `leak-${i % 5}`, `bot-${i}`);
    await bot.close();
  });

  await waitUntil(() => server.sfu.dump().participants === 5 && server.signaling.sessionCount === 5, 15_000, 'vanished sessions gone');
  // werift closes sockets asynchronously after close(); a leaked one would stay for good, so 10 s is ample.
  const deadline = Date.now() + 10_000;
  while ((udpSocketsInRange() !== baseline || pool.inUse !== baseline) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  expect(udpSocketsInRange()).toBe(baseline);
  expect(pool.inUse).toBe(baseline);
  expect(await mediaSocketsGauge()).toBe(baseline);

  for (const publisher of publishers) await publisher.close();
  await waitUntil(() => server.sfu.dump().peerConnections === 0, 10_000, 'publishers gone');
  await waitUntil(() => udpSocketsInRange() === 0 && pool.free === pool.capacity, 10_000, 'every media socket closed');
  expect(await mediaSocketsGauge()).toBe(0);
});
