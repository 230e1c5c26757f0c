import { afterEach, expect, test, vi } from 'vitest';
import { allocationPriority, CAPPED_PROBE_CREDIT, DownlinkAllocator, PAUSE_AFTER_MS, PROBE_AFTER_CONGESTION_MS, PROBE_INTERVAL_MIN_MS, PROBE_SETTLE_MS, type DownlinkProber, type VideoTrackState } from '../../../sfu/bwe/downlink-allocator.js';
import { videoSettingsFor } from '../../../sfu/bwe/video-settings.js';
import type { DownTrack } from '../../../sfu/media/down-track.js';
import { TrackLayer } from '../../../sfu/media/track-layer.js';

afterEach(() => {
  vi.useRealTimers();
});

/** Three layers (320x180, 640x360, 1280x720) that received packets at 150 kbps, 500 kbps and 1.7 Mbps. */
function layers(now: number): TrackLayer[] {
  const sizes = [[320, 180], [640, 360], [1280, 720]];
  return [150_000, 500_000, 1_700_000].map((bps, i) => {
    const layer = new TrackLayer(i, { rid: `r${i}`, width: sizes[i][0], height: sizes[i][1] }, 0);
    layer.received(0, now - 1000);
    layer.received(bps / 8, now - 1000);
    layer.received(0, now);
    return layer;
  });
}

function downTrack(source: string, now: number, priority = 0, activeSpeaker = false) {
  const calls: string[] = [];
  const fake = {
    track: { kind: 'video', source, priority, activeSpeaker, layers: layers(now) },
    setPaused: (paused: boolean) => calls.push(paused ? 'pause' : 'resume'),
    setMaxLayer: (layer: number) => calls.push(`layer ${layer}`),
  };
  return { downTrack: fake as unknown as DownTrack, calls };
}

/** An allocator on fake timers whose states are recorded; with a prober, the probes too (each starts). */
function fakeAllocator(withProber = true) {
  vi.useFakeTimers();
  const now = performance.now();
  const probes: number[] = [];
  const prober: DownlinkProber = { probing: false, audioBytes: 0, probe: (target) => (probes.push(target), true) };
  const states: VideoTrackState[] = [];
  const allocator = new DownlinkAllocator((_, state) => states.push(state), withProber ? prober : undefined);
  return { now, probes, states, allocator };
}

test("a subscriber's shown size and quality choose the layer: the smallest that covers the size", () => {
  const all = layers(performance.now());
  expect(videoSettingsFor(all, {})).toEqual({ enabled: true, maxLayer: 2 });
  expect(videoSettingsFor(all, { width: 160, height: 90 })).toEqual({ enabled: true, maxLayer: 0 });
  expect(videoSettingsFor(all, { width: 600, height: 300 })).toEqual({ enabled: true, maxLayer: 1 });
  expect(videoSettingsFor(all, { width: 3840, height: 2160 })).toEqual({ enabled: true, maxLayer: 2 });
  expect(videoSettingsFor(all, { width: 1280, height: 720, quality: 'medium' })).toEqual({ enabled: true, maxLayer: 1 });
  expect(videoSettingsFor(all, { enabled: false })).toEqual({ enabled: false, maxLayer: 2 });
  // A publisher that did not describe its layers' sizes: the size cannot choose.
  const undescribed = [0, 1, 2].map((i) => new TrackLayer(i, { rid: `r${i}` }, 0));
  expect(videoSettingsFor(undescribed, { width: 160, height: 90 }).maxLayer).toBe(2);
});

test('a falling estimate lowers layers at once, and pauses the camera before the screen share once that has lasted PAUSE_AFTER_MS; the client is told each change', () => {
  vi.useFakeTimers();
  const now = performance.now();
  const states: [string, VideoTrackState][] = [];
  const allocator = new DownlinkAllocator((down, state) => states.push([(down.track as unknown as { source: string }).source, state]));
  // Layers that keep receiving until the last run below.
  const camera = downTrack('camera', now + PAUSE_AFTER_MS + 200);
  const screen = downTrack('screen', now + PAUSE_AFTER_MS + 200);
  allocator.add(camera.downTrack);
  allocator.add(screen.downTrack);
  expect(states).toEqual([]); // no estimate yet: both keep their top layer
  allocator.onEstimate(2_500_000, now);
  expect(states).toEqual([['camera', { paused: false, layer: 1 }]]);
  allocator.onEstimate(250_000, now + 200);
  // The camera's lowest layer does not fit beside the screen share's: it keeps it for PAUSE_AFTER_MS first.
  expect(states.slice(1)).toEqual([
    ['camera', { paused: false, layer: 0 }],
    ['screen', { paused: false, layer: 0 }],
  ]);
  allocator.run(now + 200 + PAUSE_AFTER_MS);
  expect(states.slice(3)).toEqual([['camera', { paused: true, layer: -1 }]]);
  expect(camera.calls).toEqual(['resume', 'layer 1', 'resume', 'layer 0', 'pause']);
  allocator.close();
  allocator.close();
});

test("the teacher's camera (roomAdmin) goes before a student's: on a short link it keeps the better layer", () => {
  const { now, states, allocator } = fakeAllocator(false);
  const student = downTrack('camera', now);
  const teacher = downTrack('camera', now, 1);
  allocator.add(student.downTrack);
  allocator.add(teacher.downTrack);
  // Room for both low layers (150 kbit/s each) and one middle layer (500), not two.
  allocator.onEstimate(800_000, now);
  expect(teacher.calls.at(-1)).toBe('layer 1');
  expect(student.calls.at(-1)).toBe('layer 0');
  // Shorter still: only the teacher's low layer fits; the student's camera holds its layer for PAUSE_AFTER_MS, then pauses.
  allocator.onEstimate(200_000, now + 100);
  allocator.run(now + 100 + PAUSE_AFTER_MS);
  expect(teacher.calls.at(-1)).toBe('layer 0');
  expect(student.calls.at(-1)).toBe('pause');
  expect(states.length).toBeGreaterThan(0);
  allocator.close();
});

test("the active speaker's camera goes after the screen share and the teacher's, before other students'", () => {
  expect(allocationPriority({ source: 'screen', priority: 0 })).toBeGreaterThan(allocationPriority({ source: 'camera', priority: 1 }));
  expect(allocationPriority({ source: 'camera', priority: 1 })).toBeGreaterThan(allocationPriority({ source: 'camera', priority: 0, activeSpeaker: true }));
  expect(allocationPriority({ source: 'camera', priority: 1, activeSpeaker: true })).toBe(allocationPriority({ source: 'camera', priority: 1 }));
  expect(allocationPriority({ source: 'camera', priority: 0, activeSpeaker: true })).toBeGreaterThan(allocationPriority({ source: 'camera', priority: 0 }));
  const { now, allocator } = fakeAllocator(false);
  const student = downTrack('camera', now);
  const speaker = downTrack('camera', now, 0, true);
  allocator.add(student.downTrack);
  allocator.add(speaker.downTrack);
  // Room for both low layers (150 kbit/s each) and one middle layer (500), not two: the speaker's gets it.
  allocator.onEstimate(800_000, now);
  expect(speaker.calls.at(-1)).toBe('layer 1');
  expect(student.calls.at(-1)).toBe('layer 0');
  allocator.close();
});

test('a hidden track is paused and comes back when shown; its timer stops with the last track', () => {
  const { now, states, allocator } = fakeAllocator(false);
  const camera = downTrack('camera', now);
  allocator.add(camera.downTrack);
  expect(vi.getTimerCount()).toBe(1);
  expect(allocator.configure(camera.downTrack, { enabled: false, maxLayer: 2 })).toBe(true);
  expect(allocator.configure(camera.downTrack, { enabled: true, maxLayer: 0 })).toBe(true);
  expect(states).toEqual([{ paused: true, layer: -1 }, { paused: false, layer: 0 }]);
  allocator.remove(camera.downTrack);
  expect(vi.getTimerCount()).toBe(0);
  expect(allocator.configure(camera.downTrack, { enabled: true, maxLayer: 2 })).toBe(false);
  allocator.close();
});

test('short of bandwidth, it probes toward what the tracks want (at most twice the estimate); only a probe earns an upgrade', () => {
  const { now, probes, states, allocator } = fakeAllocator();
  const camera = downTrack('camera', now + 12_500);
  allocator.add(camera.downTrack);
  // Congestion: 600 kbit/s carries the middle layer only.
  allocator.onEstimate(600_000, now);
  expect(states).toEqual([{ paused: false, layer: 1 }]);
  expect(probes).toEqual([]);
  // The estimate grows on its own past what the top layer needs: no upgrade, and no probe within 3 s of congestion.
  allocator.onEstimate(2_500_000, now + 1000);
  expect(states).toHaveLength(1);
  expect(probes).toEqual([]);
  // Later (and past the hold after the downgrade), probes step up from what was shown: twice 600 kbit/s, then
  // what the top layer needs (/ 0.85, and 15 % more); each success comes back a second later for the next step.
  allocator.run(now + 10_001);
  expect(probes).toEqual([1_200_000]);
  allocator.onProbeResult(1_200_000, 1_150_000, now + 10_200);
  expect(states).toHaveLength(1);
  allocator.run(now + 10_200 + PROBE_INTERVAL_MIN_MS);
  expect(probes).toHaveLength(2);
  expect(probes[1]).toBe(Math.min((1.15 * camera.downTrack.track.layers[2].bitrateBps) / 0.85, 2 * 1_150_000));
  // Its success proves the room: the camera goes up.
  allocator.onProbeResult(probes[1], probes[1], now + 11_400);
  allocator.run(now + 11_400 + PROBE_SETTLE_MS);
  expect(states.at(-1)).toEqual({ paused: false, layer: 2 });
  // Everything fits now: no more probes.
  allocator.run(now + 11_400 + PROBE_INTERVAL_MIN_MS + 1);
  expect(probes).toHaveLength(2);
  allocator.close();
});

test('a failed probe earns no upgrade, though its result would fit one; the next probe aims at what it measured, and its success does', () => {
  const { now, probes, states, allocator } = fakeAllocator();
  const camera = downTrack('camera', now + 20_000);
  allocator.add(camera.downTrack);
  // 250 kbit/s carries the low layer (150 kbit/s) only.
  allocator.onEstimate(250_000, now);
  expect(states).toEqual([{ paused: false, layer: 0 }]);
  allocator.onEstimate(2_500_000, now + 1000);
  allocator.run(now + 10_001);
  expect(probes).toEqual([500_000]);
  allocator.onProbeResult(500_000, 480_000, now + 10_200);
  expect(states).toHaveLength(1);
  allocator.run(now + 10_200 + PROBE_INTERVAL_MIN_MS);
  expect(probes[1]).toBe(960_000);
  // Failed (800 kbit/s, under 90 % of 960): 0.85 x 800 kbit/s would hold the middle layer, but only a success earns it.
  allocator.onProbeResult(960_000, 800_000, now + 11_400);
  expect(states).toHaveLength(1);
  // The next probe, after the longer wait that follows a failure, aims at what it measured; its success earns it.
  allocator.run(now + 11_400 + 2 * PROBE_INTERVAL_MIN_MS);
  expect(probes[2]).toBe(800_000);
  allocator.onProbeResult(800_000, 790_000, now + 13_600);
  allocator.run(now + 13_600 + PROBE_SETTLE_MS);
  expect(states.at(-1)).toEqual({ paused: false, layer: 1 });
  allocator.close();
});

test('a probe aimed at what a failed probe measured proves only CAPPED_PROBE_CREDIT of it: an upgrade needs room below the edge the failure showed', () => {
  const { now, probes, states, allocator } = fakeAllocator();
  const camera = downTrack('camera', now + 20_000);
  allocator.add(camera.downTrack);
  allocator.onEstimate(250_000, now);
  allocator.onEstimate(2_500_000, now + 1000);
  allocator.run(now + 10_001);
  allocator.onProbeResult(500_000, 480_000, now + 10_200);
  allocator.run(now + 10_200 + PROBE_INTERVAL_MIN_MS);
  expect(probes[1]).toBe(960_000);
  // The link is full near 620 kbit/s; the follow-up aims there and gets it all.
  allocator.onProbeResult(960_000, 620_000, now + 11_400);
  allocator.run(now + 11_400 + 2 * PROBE_INTERVAL_MIN_MS);
  expect(probes[2]).toBe(620_000);
  allocator.onProbeResult(620_000, 620_000, now + 13_600);
  allocator.run(now + 13_600 + PROBE_SETTLE_MS);
  // 0.85 x 620 kbit/s would cover the middle layer's 500; 0.85 x 0.9 x 620 does not.
  expect(states).toEqual([{ paused: false, layer: 0 }]);
  // The next probe is not capped: its success proves all it measured.
  allocator.run(now + 13_600 + PROBE_INTERVAL_MIN_MS + 1);
  expect(probes[3]).toBe(2 * CAPPED_PROBE_CREDIT * 620_000);
  allocator.onProbeResult(probes[3], probes[3], now + 15_000);
  allocator.run(now + 15_000 + PROBE_SETTLE_MS);
  expect(states.at(-1)).toEqual({ paused: false, layer: 1 });
  allocator.close();
});

test('a layer dynacast stopped keeps the price it had: allocated when it fits (which starts it again), not when it does not', () => {
  const { now, states, allocator } = fakeAllocator(false);
  const camera = downTrack('camera', now);
  allocator.add(camera.downTrack);
  // Ten seconds later only the two lower layers still receive packets: the top one was stopped.
  const later = now + 10_000;
  const [low, middle, top] = camera.downTrack.track.layers;
  for (const layer of [low, middle]) layer.received(0, later);
  expect(top.active(later)).toBe(false);
  expect(top.expectedBitrateBps(later)).toBeGreaterThan(1_600_000);
  // 1.2 Mbit/s cannot carry it: the middle layer, and nothing asks for the top one.
  allocator.onEstimate(1_200_000, later);
  expect(states.at(-1)).toEqual({ paused: false, layer: 1 });
  // A probe shows 3 Mbit/s and the hold is over: the top layer is allocated, though not received now.
  allocator.onEstimate(3_000_000, later + 11_000);
  allocator.onProbeResult(3_000_000, 3_000_000, later + 11_000);
  allocator.run(later + 11_000 + PROBE_SETTLE_MS);
  expect(states.at(-1)).toEqual({ paused: false, layer: 2 });
  allocator.close();
});

test('going up is priced at what the switch costs (its busiest second, up to 1.5 x its average: a switch starts with a key frame); staying, at its average', () => {
  const { now, states, allocator } = fakeAllocator(false);
  const camera = downTrack('camera', now);
  allocator.add(camera.downTrack);
  // The middle layer: 500 kbit/s on average over five seconds, one of which (a key frame) carried 1.3 Mbit/s.
  const middle = camera.downTrack.track.layers[1];
  for (const [i, kbps] of [300, 300, 300, 300, 1300].entries()) {
    middle.received(0, now + i * 1000);
    middle.received((kbps * 1000) / 8, now + i * 1000);
  }
  for (const layer of camera.downTrack.track.layers) layer.received(0, now + 5000);
  const average = middle.expectedBitrateBps(now + 5000);
  expect(average).toBeLessThan(560_000);
  expect(middle.switchBitrateBps(now + 5000)).toBeCloseTo(1.5 * average, -3);
  allocator.onEstimate(250_000, now + 5000);
  expect(states.at(-1)).toEqual({ paused: false, layer: 0 });
  // A link between the two: the middle layer's average fits in 85 % of it (in place of the low one), the switch does not.
  const between = (average + 1.5 * average) / 2 / 0.85;
  allocator.onEstimate(between, now + 20_000);
  allocator.onProbeResult(between, between, now + 20_000);
  allocator.run(now + 20_000 + PROBE_SETTLE_MS);
  expect(states.at(-1)).toEqual({ paused: false, layer: 0 });
  // Room for the switch: up.
  const enough = (1.05 * 1.5 * average) / 0.85;
  allocator.onEstimate(enough, now + 21_000);
  allocator.onProbeResult(enough, enough, now + 21_000);
  allocator.run(now + 21_000 + PROBE_SETTLE_MS);
  expect(states.at(-1)).toEqual({ paused: false, layer: 1 });
  allocator.close();
});

test('a probe\'s success earns its upgrade once the link has carried it for PROBE_SETTLE_MS; a fall of the estimate meanwhile undoes it', () => {
  const { now, probes, states, allocator } = fakeAllocator();
  const camera = downTrack('camera', now + 30_000);
  allocator.add(camera.downTrack);
  allocator.onEstimate(250_000, now);
  expect(states).toEqual([{ paused: false, layer: 0 }]);
  allocator.onEstimate(2_500_000, now + 1000);
  allocator.run(now + 10_001);
  expect(probes).toEqual([500_000]);
  // The probe "succeeds" (its receive rate over 100 ms), but the link was full: its feedback cuts the estimate.
  allocator.onProbeResult(500_000, 700_000, now + 10_200);
  expect(states).toHaveLength(1);
  allocator.onEstimate(280_000, now + 10_500);
  allocator.run(now + 10_200 + PROBE_SETTLE_MS);
  expect(states).toHaveLength(1);
  // A success the link keeps carrying: up, once settled.
  allocator.onEstimate(2_500_000, now + 20_000);
  allocator.onProbeResult(700_000, 700_000, now + 20_000);
  expect(states).toHaveLength(1);
  allocator.run(now + 20_000 + PROBE_SETTLE_MS);
  expect(states.at(-1)).toEqual({ paused: false, layer: 1 });
  allocator.close();
});
