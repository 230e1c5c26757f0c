import { afterAll, beforeAll, expect, test } from 'vitest';
import type { RunningServer } from '../../server/app.js';
import { launchChromium, type LaunchedChromium } from '../helpers/chromium.js';
import { assertClientBuilt, BrowserParticipant, eventually, type InboundSnapshot } from '../helpers/browser-participant.js';
import { LinkShaper } from '../helpers/link-shaper.js';
import { metricTotal, startTestServer } from '../helpers/server.js';
import { reportMeasurement } from '../helpers/bwe-report.js';

/*
 * Three cameras with simulcast (640x360: 320x180 and 640x360 layers), two students. One student's downlink (the
 * server → student direction of its subscriber connection, matched by the server's UDP port) is limited to
 * 600 kbit/s with a 200 ms queue, as a poor home link; the other is not. Asserted on the students' own getStats().
 */
const shaper = new LinkShaper();
let server: RunningServer;
let browser: LaunchedChromium;
const people: BrowserParticipant[] = [];
const cameras: BrowserParticipant[] = [];
let limited: BrowserParticipant;
let free: BrowserParticipant;
const ROOM = 'shaped';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

beforeAll(async () => {
  assertClientBuilt();
  server = await startTestServer();
  browser = await launchChromium();
  for (let i = 0; i < 3; i++) cameras.push(await BrowserParticipant.join(browser, server, ROOM, `camera-${i}`, { width: 640, height: 360 }));
  people.push(...cameras);
  limited = await BrowserParticipant.join(browser, server, ROOM, 'limited', { video: false, audio: false });
  free = await BrowserParticipant.join(browser, server, ROOM, 'free', { video: false, audio: false });
  people.push(limited, free);
});
afterAll(async () => {
  shaper.clear();
  for (const p of people) await p.close();
  await browser?.close();
  await server?.close();
});

/** The student's inbound video, one entry per camera, keyed by published track id. */
async function videos(student: BrowserParticipant): Promise<Map<string, InboundSnapshot>> {
  const subscribed = await student.events<{ trackId: string; kind: string; trackIdentifier: string }>('trackSubscribed');
  const byIdentifier = new Map(subscribed.filter((e) => e.kind === 'video').map((e) => [e.trackIdentifier, e.trackId]));
  const out = new Map<string, InboundSnapshot>();
  for (const s of await student.inbound()) {
    const trackId = byIdentifier.get(s.trackIdentifier);
    if (s.kind === 'video' && trackId) out.set(trackId, s);
  }
  return out;
}
const widths = async (student: BrowserParticipant) => [...(await videos(student)).values()].map((v) => v.frameWidth).sort().join(',');

test('a student on a 600 kbit/s link gets every camera\'s low layer, smoothly, while the other gets the high ones; lifted, the high layers come back', async () => {
  for (const student of [free, limited]) {
    await eventually(() => widths(student), (w) => w === '640,640,640', 40_000, `${student.identity} decoding three 640x360 layers`);
  }
  console.log(`both students on the high layers at ${(performance.now() / 1000).toFixed(1)} s`);

  // Key frames the cameras' top layers encode on their own in 20 s, unshaped: the baseline.
  const topKeyframes = async () => (await Promise.all(cameras.map((c) => c.outbound()))).map((o) => o.f.keyFramesEncoded);
  const baselineStart = await topKeyframes();
  await sleep(20_000);
  const baseline = (await topKeyframes()).map((n, i) => n - baselineStart[i]);

  const port = await limited.subscriberServerPort();
  const bandwidthDownswitches = () => metricTotal(server, 'tsfu_sfu_layer_switches_total', 'direction="down",reason="bandwidth"');
  const downswitchesBefore = await bandwidthDownswitches();
  shaper.limit(port, 600);
  const keyframesBefore = await topKeyframes();
  const limitedAt = performance.now();
  await eventually(() => widths(limited), (w) => w === '320,320,320', 30_000, 'the limited student on three 320x180 layers');
  console.log(`limited student on the low layers ${((performance.now() - limitedAt) / 1000).toFixed(1)} s after the limit`);
  // Operators see why: three switches down for bandwidth.
  expect((await bandwidthDownswitches()) - downswitchesBefore).toBeGreaterThanOrEqual(3);

  // 20 s on the limited link: frame rate and freezes as the student's decoder saw them.
  const start = await videos(limited);
  const audioStart = (await limited.inbound()).filter((s) => s.kind === 'audio').map((s) => s.packetsReceived);
  await sleep(20_000);
  const end = await videos(limited);
  const audioEnd = (await limited.inbound()).filter((s) => s.kind === 'audio').map((s) => s.packetsReceived);
  const fps: number[] = [];
  let frozenMs = 0;
  for (const [trackId, last] of end) {
    const first = start.get(trackId)!;
    fps.push((last.framesDecoded - first.framesDecoded) / 20);
    frozenMs += (last.totalFreezesDuration - first.totalFreezesDuration) * 1000;
    console.log(`limited ${trackId}: ${last.frameWidth}x${last.frameHeight}, ${fps.at(-1)!.toFixed(1)} fps, frozen ${last.totalFreezesDuration - first.totalFreezesDuration} s`);
    expect(last.frameWidth, `${trackId}'s width`).toBe(320);
    expect(fps.at(-1), `${trackId}'s frame rate`).toBeGreaterThanOrEqual(15);
    expect(last.totalFreezesDuration - first.totalFreezesDuration, `${trackId}'s frozen seconds`).toBeLessThan(1);
  }
  reportMeasurement('bwe_limited_fps', [...fps].sort((a, b) => a - b)[1].toFixed(1));
  reportMeasurement('bwe_limited_freeze_ms', Math.round(frozenMs));
  // Audio is never paused for bandwidth: ~50 packets a second from each camera's microphone.
  expect(audioEnd.map((n, i) => n - audioStart[i] > 20 * 40)).toEqual([true, true, true]);
  expect(await widths(free)).toBe('640,640,640');
  // The limited student's key-frame requests ask for its own layer only: no camera re-encodes its top layer for it
  // (the issue allows 2 a minute above the baseline; this is a little over 20 s).
  const keyframesAfter = await topKeyframes();
  const limitedKeyframes = keyframesAfter.map((n, i) => n - keyframesBefore[i]);
  console.log(`top-layer key frames: ${baseline.join(',')} in 20 s unshaped, ${limitedKeyframes.join(',')} while limited`);
  reportMeasurement('bwe_limited_top_keyframes_above_baseline', Math.max(...limitedKeyframes.map((n, i) => n - baseline[i])));
  for (let i = 0; i < 3; i++) expect(limitedKeyframes[i]).toBeLessThanOrEqual(baseline[i] + 1);

  // Lifted: the high layers come back without a rejoin.
  shaper.unlimit(port);
  const liftedAt = performance.now();
  await eventually(() => widths(limited), (w) => w === '640,640,640', 30_000, 'the limited student back on three 640x360 layers');
  const recoverySeconds = (performance.now() - liftedAt) / 1000;
  reportMeasurement('bwe_recovery_s', recoverySeconds.toFixed(1));
  expect(recoverySeconds).toBeLessThanOrEqual(10);
});

test('3 % random loss on a student\'s link for 60 s: NACKs repair it, and its layers stay put (at most 2 switches a minute after the first 10 s)', async () => {
  shaper.clear();
  await eventually(() => widths(limited), (w) => w === '640,640,640', 30_000, 'the student on the high layers');
  const port = await limited.subscriberServerPort();
  shaper.drop(port, 3);
  const downTracks = () => [...server.sfu.room(ROOM).participant('limited')!.subscriber.downTracks.values()].filter((d) => d.track.kind === 'video');
  let switches = 0;
  let last = downTracks().map((d) => d.currentLayer);
  const startedAt = performance.now();
  const sampler = setInterval(() => {
    const now = downTracks().map((d) => d.currentLayer);
    if (performance.now() - startedAt >= 10_000) switches += now.filter((layer, i) => layer !== last[i]).length;
    last = now;
  }, 200);
  const start = await videos(limited);
  await sleep(60_000);
  clearInterval(sampler);
  const end = await videos(limited);
  shaper.clear();
  console.log(`3 % loss for 60 s: ${[...end].map(([id, v]) => `${id} ${v.frameWidth}px ${((v.framesDecoded - start.get(id)!.framesDecoded) / 60).toFixed(1)} fps`).join(', ')}`);
  reportMeasurement('bwe_switches_per_min', (switches / (50 / 60)).toFixed(1));
  expect(switches).toBeLessThanOrEqual(2);
  for (const [trackId, last] of end) {
    const fps = (last.framesDecoded - start.get(trackId)!.framesDecoded) / 60;
    expect(fps, `${trackId}'s frame rate`).toBeGreaterThanOrEqual(15);
  }
});
