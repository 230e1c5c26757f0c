/**
 * Time to first frame (`npm run bench`, after the forwarding benchmark; alone: `npm run bench:first-frame`):
 * WebSocket open → first decodable video frame at a new subscriber, for werift subscribers (first complete VP8
 * key frame after SRTP decryption; the publisher is a werift bot in its own process) and for Chromium subscribers
 * (first decoded frame: requestVideoFrameCallback or getStats framesDecoded > 0; the publisher is a Chromium tab
 * with the fake camera). Subscribers join one at a time into a room where the publisher is already sending; one
 * warm-up join of each kind is not counted. The server runs in its own process (bench/lib/server-process.ts).
 *
 * Environment: BENCH_FIRST_FRAME_JOINS (default 7) joins per kind; BENCH_NO_CHROMIUM=1 skips Chromium (it is
 * skipped anyway, with a message, when /usr/bin/chromium is missing).
 */
import { existsSync } from 'node:fs';
import { waitUntil } from '../test/helpers/bot.js';
import { CHROMIUM_PATH, launchChromium, type LaunchedChromium } from '../test/helpers/chromium.js';
import { chromiumFirstFrame, startChromiumPublisher } from './lib/chromium-first-frame.js';
import { FirstFrameSubscriber, type JoinTimeline } from './lib/first-frame-subscriber.js';
import { PublisherHandle, ServerHandle } from './lib/handles.js';
import { percentile, round, sleep } from './lib/stats.js';

const JOINS = Number(process.env.BENCH_FIRST_FRAME_JOINS ?? 7);
const WITH_CHROMIUM = process.env.BENCH_NO_CHROMIUM !== '1';
/** Between joins: the previous subscriber's leave is handled and its connection closed. */
const PAUSE_MS = 300;

async function weriftJoins(server: ServerHandle): Promise<JoinTimeline[]> {
  const room = 'first-frame-werift';
  const publisher = await PublisherHandle.start(server.signalingUrl, room, 'teacher');
  const timelines: JoinTimeline[] = [];
  try {
    for (let i = 0; i <= JOINS; i++) {
      const subscriber = await FirstFrameSubscriber.join(server.signalingUrl, room, `werift-${i}`);
      try {
        await waitUntil(() => subscriber.timeline.firstFrame !== undefined, 15_000, `first frame at werift-${i}`);
      } finally {
        await subscriber.close();
      }
      if (i > 0) timelines.push(subscriber.timeline);
      await sleep(PAUSE_MS);
    }
  } finally {
    await publisher.stop();
  }
  return timelines;
}

async function chromiumJoins(server: ServerHandle): Promise<JoinTimeline[]> {
  const room = 'first-frame-chromium';
  let browser: LaunchedChromium | undefined;
  const timelines: JoinTimeline[] = [];
  try {
    browser = await launchChromium();
    const publisher = await startChromiumPublisher(browser, server.signalingUrl, room, 'teacher');
    for (let i = 0; i <= JOINS; i++) {
      const timeline = await chromiumFirstFrame(browser, server.signalingUrl, room, `chromium-${i}`);
      if (i > 0) timelines.push(timeline);
      await sleep(PAUSE_MS);
    }
    await publisher.close();
  } finally {
    await browser?.close();
  }
  return timelines;
}

function describe(kind: string, timelines: JoinTimeline[]): [string, number][] {
  // Over the joins that saw the step (Chromium's getStats poll can miss the first RTP before the first frame).
  const p50 = (step: keyof JoinTimeline) => round(percentile(timelines.flatMap((t) => (t[step] === undefined ? [] : [t[step]])), 50), 0);
  const frames = timelines.map((t) => t.firstFrame ?? Number.NaN);
  console.log(
    `${kind}: ${timelines.length} joins, WebSocket open → first frame ${frames.map((f) => Math.round(f)).join(', ')} ms; ` +
      `p50 of each step: joined ${p50('joined')}, subscriberOffer ${p50('offer')}, connected ${p50('connected')}, first RTP ${p50('firstRtp')}, first frame ${p50('firstFrame')} ms`,
  );
  return [
    [`first_frame_ms_p50_${kind}`, p50('firstFrame')],
    [`first_frame_ms_max_${kind}`, round(Math.max(...frames), 0)],
    [`connected_ms_p50_${kind}`, p50('connected')],
  ];
}

async function main(): Promise<void> {
  const server = await ServerHandle.start();
  const figures: [string, number][] = [];
  try {
    figures.push(...describe('werift', await weriftJoins(server)));
    if (!WITH_CHROMIUM) console.log('chromium: skipped (BENCH_NO_CHROMIUM=1)');
    else if (!existsSync(CHROMIUM_PATH)) console.log(`chromium: skipped (${CHROMIUM_PATH} not found)`);
    else figures.push(...describe('chromium', await chromiumJoins(server)));
  } finally {
    await server.stop();
  }
  for (const [name, value] of figures) console.log(`${name}: ${value}`);
}

await main();
process.exit(0);
