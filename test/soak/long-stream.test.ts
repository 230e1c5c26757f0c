import { afterAll, beforeAll, expect, test } from 'vitest';
import type { RunningServer } from '../../server/app.js';
import { Bot, waitUntil } from '../helpers/bot.js';
import { startTestServer } from '../helpers/server.js';

/**
 * A stream long enough to wrap the 16-bit sequence space twice (issue 7, defect 1: the Forwarder compared
 * 16-bit numbers with its start and dropped everything for 32,768 packets after the first 32,768): a werift
 * publisher at ~2,400 packets/s through the real server, its delivery to a subscriber checked per 5-second
 * window of send time. Every packet carries its index (bytes 4..7), so the subscriber knows what arrived.
 */
const PACKETS = 145_000;
const PACKETS_PER_FRAME = 80; // ~2,400 packets/s at the bot's 30 frames/s
const WINDOW_MS = 5000;
/**
 * The 16-bit bug delivers 0 % for 32,768 packets (two or more whole windows). Below 100 % here is loss on the
 * way in when the machine stalls this one process for > 100 ms: werift's publisher keeps only 128 packets
 * (~50 ms) to answer NACKs, so those are not recovered; a quiet machine delivers ≥ 99.9 %.
 */
const MIN_WINDOW_DELIVERY = 0.95;

let server: RunningServer;
const bots: Bot[] = [];
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  for (const bot of bots) await bot.close();
  await server?.close();
});

test('a subscriber receives a stream of 145,000 packets (two 16-bit wraps) with every 5-second window after warm-up ≥ 95 % delivered', async () => {
  const sentAt = new Float64Array(PACKETS + 1);
  const received = new Uint8Array(PACKETS + 1);
  let sent = 0;
  let receivedCount = 0;
  const bob = await Bot.join(server.signalingUrl, 'long', 'bob', undefined, {
    onRtp: (packet) => {
      if (packet.payload.length < 8) return;
      const index = packet.payload.readUInt32BE(4);
      if (index <= PACKETS && received[index] === 0) {
        received[index] = 1;
        receivedCount++;
      }
    },
  });
  bots.push(bob);
  const alice = await Bot.join(server.signalingUrl, 'long', 'alice');
  bots.push(alice);
  await alice.publish({
    audio: false,
    videoPacketsPerFrame: PACKETS_PER_FRAME,
    videoKbps: 2300, // ~120-byte packets
    firstSequenceNumber: 65_000, // the first wrap comes after 536 packets
    stamp: (_kind, payload) => {
      if (sent >= PACKETS) return;
      sent++;
      payload.writeUInt32BE(sent, 4);
      sentAt[sent] = performance.now();
    },
  });
  await waitUntil(() => sent >= PACKETS, 75_000, `${PACKETS} packets sent`);
  // Retransmissions of the last losses come within a few round trips.
  await waitUntil(() => received[PACKETS] === 1 || receivedCount >= PACKETS - 50, 5000, 'the last packets').catch(() => undefined);
  await alice.close();

  // The subscriber starts at the first key frame after its down track could send; windows count from there.
  const first = received.indexOf(1);
  expect(first).toBeGreaterThan(0);
  const windows: { sent: number; received: number }[] = [];
  for (let i = first; i <= PACKETS; i++) {
    const w = Math.floor((sentAt[i] - sentAt[first]) / WINDOW_MS);
    windows[w] ??= { sent: 0, received: 0 };
    windows[w].sent++;
    windows[w].received += received[i];
  }
  // The first window is warm-up (JIT, connections settling: loss on the way in that werift's publisher cannot
  // resend); the 16-bit bug begins 32,768 packets (≥ 13 s) after the start, well after it.
  const complete = windows.slice(1).filter((w) => w.sent >= 1000);
  const ratios = complete.map((w) => w.received / w.sent);
  const minimum = Math.min(...ratios);
  const percent = (r: number) => `${(r * 100).toFixed(1)} %`;
  const counters = (await server.registry.metrics())
    .split('\n')
    .filter((line) => /^tsfu_sfu_(nacks_received|retransmitted_packets|publisher_lost_packets|discarded_packets|forward_errors)/.test(line))
    .join(', ');
  console.log(`long stream counters: ${counters}`);
  console.log(
    `long stream: ${PACKETS - first + 1} packets from the first received, ${receivedCount} received; ` +
      `warm-up window ${percent(windows[0].received / windows[0].sent)}, then per 5-s window ${ratios.map(percent).join(', ')}; minimum ${percent(minimum)}`,
  );
  expect(PACKETS - first + 1).toBeGreaterThanOrEqual(140_000);
  expect(ratios.map((r) => Number(r.toFixed(3))).filter((r) => r < MIN_WINDOW_DELIVERY)).toEqual([]);
}, 90_000);
