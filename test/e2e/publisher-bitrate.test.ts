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

test('a Chromium publisher reaches full bitrate through the SFU and a subscriber decodes 640x480 at 20 fps or more', async () => {
  const publisher = await BrowserParticipant.join(browser, server, 'quality', 'publisher', { width: 1280, height: 720, audio: false });
  people.push(publisher);
  const startedAt = Date.now();
  // Correct transport-cc feedback lets Chromium's estimate climb; werift's own feedback held it near 30 kbps.
  const bitrate = await eventually(() => publisher.availableOutgoingBitrate(), (bps) => bps >= 1_500_000, 15_000, 'availableOutgoingBitrate >= 1.5 Mbps');
  expect(bitrate).toBeGreaterThanOrEqual(1_500_000);
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
  // The subscriber's browser reports its downlink estimate in REMB (no transport-cc on subscriber connections):
  // Chromium's first report comes ~5 s after video starts, at about the rate it receives.
  const remb = await eventually(downlinkEstimates, (e) => e.count >= 3, 20_000, 'three REMB reports from the subscriber');
  console.info(`REMB: ${remb.count} reports, mean ${Math.round(remb.sum / remb.count / 1000)} kbps`);
  expect(remb.sum / remb.count).toBeGreaterThan(200_000);
});

/** The server's histogram of subscribers' REMB estimates, read from /metrics. */
async function downlinkEstimates(): Promise<{ count: number; sum: number }> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const read = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? 0);
  return { count: read('tsfu_sfu_subscriber_downlink_estimate_bps_count'), sum: read('tsfu_sfu_subscriber_downlink_estimate_bps_sum') };
}
