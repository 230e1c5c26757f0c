import { afterAll, beforeAll, expect, test } from 'vitest';
import { ServerHandle } from '../../bench/lib/handles.js';
import { launchChromium, type LaunchedChromium } from '../helpers/chromium.js';
import { assertClientBuilt, BrowserParticipant, eventually } from '../helpers/browser-participant.js';

// The server runs in a process of its own, as in production: Chromium's bandwidth probes are judged by the
// arrival times the SFU records, which a shared event loop (Playwright, vitest) would bunch together.
let server: ServerHandle;
let browser: LaunchedChromium;
const people: BrowserParticipant[] = [];

beforeAll(async () => {
  assertClientBuilt();
  server = await ServerHandle.start();
  browser = await launchChromium();
});
afterAll(async () => {
  for (const p of people) await p.close();
  await browser?.close();
  await server?.stop();
});

test('a Chromium publisher\'s estimate climbs past 1 Mbit/s through the SFU and a subscriber decodes 640x480 at 20 fps or more', async () => {
  const publisher = await BrowserParticipant.join(browser, server, 'quality', 'publisher', { width: 1280, height: 720, audio: false });
  people.push(publisher);
  const startedAt = Date.now();
  // Correct transport-cc feedback lets Chromium's estimate climb; werift's own feedback held it near 30 kbps. Alone on
  // the machine it gets there within a second; right after the other browser tests, in two CI runs of 2026-12-02, it
  // was still at ~1 Mbit/s after 15 s: a busy server stamps arrivals late, which Chromium reads as a queue
  // (docs/BANDWIDTH.md, "Not done yet"), and a CI run of 2026-12-02 (evening) ended at 1.19 Mbit/s after 30 s. 1 Mbit/s
  // still tells the bug apart (30 kbit/s); how fast it climbs on a busy machine is the open problem written up there.
  const bitrate = await eventually(() => publisher.availableOutgoingBitrate(), (bps) => bps >= 1_000_000, 30_000, 'availableOutgoingBitrate >= 1 Mbps');
  expect(bitrate).toBeGreaterThanOrEqual(1_000_000);
  console.info(`availableOutgoingBitrate ${Math.round(bitrate / 1000)} kbps after ${Date.now() - startedAt} ms`);
  const subscriber = await BrowserParticipant.join(browser, server, 'quality', 'subscriber', { video: false, audio: false });
  people.push(subscriber);
  const video = await eventually(
    async () => (await subscriber.inbound()).find((s) => s.kind === 'video'),
    (s) => s !== undefined && s.frameWidth >= 640 && s.frameHeight >= 480 && s.framesPerSecond >= 20,
    20_000,
    'subscriber decoding >= 640x480 at >= 20 fps',
  );
  expect(video!.frameWidth).toBeGreaterThanOrEqual(640);
  expect(video!.framesPerSecond).toBeGreaterThanOrEqual(20);
  // The subscriber's browser sends transport-wide feedback on what the SFU sends it: its downlink estimate is made of
  // it (docs/BANDWIDTH.md; the shaped-link tests check what the estimate does with it).
  const feedback = await eventually(() => metric('tsfu_sfu_subscriber_transport_feedback_total'), (n) => n >= 20, 10_000, 'transport-wide feedback from the subscriber');
  console.info(`transport-wide feedback packets from the subscriber: ${feedback}`);
});

/** One sample of the server's /metrics, by its exact name (no labels). */
async function metric(name: string): Promise<number> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  return Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? 0);
}
