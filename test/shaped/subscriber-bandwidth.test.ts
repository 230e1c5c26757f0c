import { afterAll, beforeAll, expect, test } from 'vitest';
import type { RunningServer } from '../../server/app.js';
import { launchChromium, type LaunchedChromium } from '../helpers/chromium.js';
import { assertClientBuilt, BrowserParticipant, eventually, type InboundSnapshot } from '../helpers/browser-participant.js';
import { LinkShaper } from '../helpers/link-shaper.js';
import { metricTotal, startTestServer } from '../helpers/server.js';
import { reportMeasurement } from '../helpers/bench-report.js';

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
  // The cameras watch nothing: six fewer decoders on a two-core machine that also runs the server. Their own
  // send-side estimates (Chromium's, from the SFU's transport-wide feedback) are floored at 700 kbit/s: on this loaded
  // machine they fell to 85-290 kbit/s on loopback, with no loss, for a minute at a time, and turned the top layers
  // off (docs/BANDWIDTH.md, "Not done yet"). This test is about the students' links.
  for (let i = 0; i < 3; i++) {
    cameras.push(await BrowserParticipant.join(browser, server, ROOM, `camera-${i}`, { width: 640, height: 360, subscribe: false, minSendKbps: 700 }));
  }
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
/** For each of the student's video down tracks: whether it forwards the highest layer its camera sends now. */
function onTopSent(identity: string): boolean[] {
  const video = [...server.sfu.room(ROOM).participant(identity)!.subscriber.downTracks.values()].filter((d) => d.track.kind === 'video');
  const now = performance.now();
  return video.map((d) => d.currentLayer === Math.max(0, ...d.track.layers.filter((l) => l.active(now)).map((l) => l.index)));
}
const widths = async (student: BrowserParticipant) => [...(await videos(student)).values()].map((v) => v.frameWidth).sort().join(',');

test('a student on a 600 kbit/s link gets every camera\'s low layer, smoothly, while the other gets the high ones; lifted, the high layers come back', async () => {
  for (const student of [free, limited]) {
    // Up to a minute: five Chromium pages start on a two-core machine.
    await eventually(() => widths(student), (w) => w === '640,640,640', 60_000, `${student.identity} decoding three 640x360 layers`);
  }
  console.log(`both students on the high layers at ${(performance.now() / 1000).toFixed(1)} s`);

  // Key frames the cameras' top layers encode on their own in 20 s, unshaped: the baseline.
  const topKeyframes = async () => (await Promise.all(cameras.map((c) => c.outbound()))).map((o) => o.f.keyFramesEncoded);
  const topPlis = async () => (await Promise.all(cameras.map((c) => c.outbound()))).map((o) => o.f.pliCount);
  /** PLIs the free student sent for each camera (it receives their top layers). */
  const cameraTrackIds = cameras.map((c) => [...server.sfu.room(ROOM).participant(c.identity)!.publishedTracks.values()].find((t) => t.kind === 'video')!.id);
  const freePlis = async () => {
    const received = await videos(free);
    return cameraTrackIds.map((id) => received.get(id)?.pliCount ?? 0);
  };
  const baselineStart = await topKeyframes();
  await sleep(20_000);
  const baseline = (await topKeyframes()).map((n, i) => n - baselineStart[i]);

  // A publisher's encoder under load may stop its top layer for a while (the student then switches down for
  // availability): the limit starts with the student on every top layer, so that its switches are for bandwidth.
  await eventually(() => widths(limited), (w) => w === '640,640,640', 45_000, 'the limited student on three 640x360 layers before the limit');
  const port = await limited.subscriberServerPort();
  const downswitches = async () => ({
    bandwidth: await metricTotal(server, 'tsfu_sfu_layer_switches_total', 'direction="down",reason="bandwidth"'),
    availability: await metricTotal(server, 'tsfu_sfu_layer_switches_total', 'direction="down",reason="availability"'),
  });
  const downswitchesBefore = await downswitches();
  shaper.limit(port, 600);
  const keyframesBefore = await topKeyframes();
  const plisBefore = await topPlis();
  const freePlisBefore = await freePlis();
  const limitedAt = performance.now();
  await eventually(() => widths(limited), (w) => w === '320,320,320', 30_000, 'the limited student on three 320x180 layers');
  console.log(`limited student on the low layers ${((performance.now() - limitedAt) / 1000).toFixed(1)} s after the limit`);
  // Operators see why: three switches down, for bandwidth (or for availability, when a camera's loaded encoder
  // stopped its top layer at that moment).
  const downswitchesAfter = await downswitches();
  const forBandwidth = downswitchesAfter.bandwidth - downswitchesBefore.bandwidth;
  const forAvailability = downswitchesAfter.availability - downswitchesBefore.availability;
  console.log(`switches down since the limit: ${forBandwidth} for bandwidth, ${forAvailability} for availability`);
  expect(forBandwidth).toBeGreaterThanOrEqual(1);
  expect(forBandwidth + forAvailability).toBeGreaterThanOrEqual(3);

  // 20 s on the limited link: frame rate and freezes as the student's decoder saw them. A freeze is added to
  // totalFreezesDuration when it ends, so sampling every 250 ms gives each one's length (or a sum, never less).
  const start = await videos(limited);
  const audioStart = (await limited.inbound()).filter((s) => s.kind === 'audio').map((s) => s.packetsReceived);
  const longestFreeze = new Map<string, number>();
  let previous = start;
  const freezeSampler = setInterval(async () => {
    const now = await videos(limited);
    for (const [trackId, v] of now) {
      const before = previous.get(trackId);
      if (before) longestFreeze.set(trackId, Math.max(longestFreeze.get(trackId) ?? 0, v.totalFreezesDuration - before.totalFreezesDuration));
    }
    previous = now;
  }, 250);
  await sleep(20_000);
  clearInterval(freezeSampler);
  const end = await videos(limited);
  const audioEnd = (await limited.inbound()).filter((s) => s.kind === 'audio').map((s) => s.packetsReceived);
  const fps: number[] = [];
  let frozenMs = 0;
  const videoKbps = [...end].reduce((sum, [trackId, last]) => sum + (last.bytesReceived - start.get(trackId)!.bytesReceived), 0) * 8 / 20 / 1000;
  const upgraded = [...end.values()].filter((v) => v.frameWidth > 320).length;
  console.log(`limited student's video: ${videoKbps.toFixed(0)} kbit/s of payload, ${upgraded} camera(s) above 320x180`);
  for (const [trackId, last] of end) {
    const first = start.get(trackId)!;
    fps.push((last.framesDecoded - first.framesDecoded) / 20);
    frozenMs += (last.totalFreezesDuration - first.totalFreezesDuration) * 1000;
    const longest = Math.max(longestFreeze.get(trackId) ?? 0, last.totalFreezesDuration - previous.get(trackId)!.totalFreezesDuration);
    console.log(`limited ${trackId}: ${last.frameWidth}x${last.frameHeight}, ${fps.at(-1)!.toFixed(1)} fps, frozen ${(last.totalFreezesDuration - first.totalFreezesDuration).toFixed(2)} s in ${last.freezeCount - first.freezeCount} freezes, longest ${longest.toFixed(2)} s`);
    // Each camera's low layer; a camera whose top layer is cheap (a loaded encoder's) may be upgraded when it fits,
    // which the frame rate, the freezes, the rate below and the key-frame count after this loop hold to account.
    if (upgraded === 0 || last.frameWidth === 320) expect(last.frameWidth, `${trackId}'s width`).toBe(320);
    expect(fps.at(-1), `${trackId}'s frame rate`).toBeGreaterThanOrEqual(15);
    expect(longest, `${trackId}'s longest freeze (s)`).toBeLessThan(1);
  }
  expect(upgraded, 'cameras above their low layer on the limited link').toBeLessThanOrEqual(1);
  if (upgraded > 0) expect(videoKbps, 'video received on the 600 kbit/s link (kbit/s)').toBeLessThan(600 - 3 * 40);
  reportMeasurement('bwe_limited_fps', [...fps].sort((a, b) => a - b)[1].toFixed(1));
  reportMeasurement('bwe_limited_freeze_ms', Math.round(frozenMs));
  reportMeasurement('bwe_limited_longest_freeze_ms', Math.round(1000 * Math.max(...longestFreeze.values(), 0)));
  // Audio is never paused for bandwidth: ~50 packets a second from each camera's microphone.
  expect(audioEnd.map((n, i) => n - audioStart[i] > 20 * 40)).toEqual([true, true, true]);
  // The free student meanwhile forwards every camera's top layer that the camera sends (a loaded camera's encoder
  // may stop one for a moment: the free student cannot get what is not sent).
  await eventually(async () => onTopSent('free'), (on) => on.length === 3 && on.every(Boolean), 5000, 'the free student on every top layer sent');
  // The limited student's key-frame requests ask for the layer it receives (or is switching to), never for the top
  // layer everyone else receives: the cameras' top layers get no PLI while it is limited but the free student's own. (Their key frames
  // are measured, not asserted: Chromium's VP8 simulcast encoder makes a key frame on every layer when any one is
  // asked for, so the three switches down cost each camera one; and a loaded machine makes Chromium re-encode on
  // its own now and then.)
  const keyframesAfter = await topKeyframes();
  const topPlisDuring = (await topPlis()).map((n, i) => n - plisBefore[i]);
  const freePlisDuring = (await freePlis()).map((n, i) => n - freePlisBefore[i]);
  // What the SFU did meanwhile, for the log: key-frame requests by reason, switches, probes.
  const metrics = (await server.registry.metrics()).split('\n').filter((l) => /^tsfu_sfu_(plis_sent|layer_switches|probes)_total\{/.test(l));
  console.log(`after the limited window: ${metrics.join('; ')}`);
  const limitedKeyframes = keyframesAfter.map((n, i) => n - keyframesBefore[i]);
  console.log(`top-layer key frames: ${baseline.join(',')} in 20 s unshaped, ${limitedKeyframes.join(',')} while limited; PLIs for the top layers while limited: ${topPlisDuring.join(',')} (the free student sent ${freePlisDuring.join(',')})`);
  reportMeasurement('bwe_limited_top_keyframes_above_baseline', Math.max(...limitedKeyframes.map((n, i) => n - baseline[i])));
  // A camera upgraded on the limited link (above) asked once for the key frame of the layer it switched to.
  for (let i = 0; i < 3; i++) expect(topPlisDuring[i], `PLIs for camera ${i}'s top layer`).toBeLessThanOrEqual(freePlisDuring[i] + Math.min(upgraded, 1));
  expect(topPlisDuring.reduce((a, b) => a + b, 0) - freePlisDuring.reduce((a, b) => a + b, 0), 'top-layer PLIs beyond the free student\'s').toBeLessThanOrEqual(upgraded);

  // Lifted: the high layers come back without a rejoin.
  shaper.unlimit(port);
  const liftedAt = performance.now();
  // Back on every top layer the cameras send (as for the free student above: not one a camera stopped meanwhile).
  await eventually(async () => onTopSent('limited'), (on) => on.length === 3 && on.every(Boolean), 30_000, 'the limited student back on every top layer sent');
  const recoverySeconds = (performance.now() - liftedAt) / 1000;
  console.log(`lifted: on every top layer sent after ${recoverySeconds.toFixed(1)} s; decoding ${await widths(limited)}`);
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
