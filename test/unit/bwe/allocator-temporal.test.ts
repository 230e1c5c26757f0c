import { afterEach, expect, test, vi } from 'vitest';
import { ALL_TEMPORAL, allocateLayers, PAUSED, type AllocatableTrack } from '../../../sfu/bwe/allocator.js';
import { DownlinkAllocator, PAUSE_AFTER_MS, type VideoTrackState } from '../../../sfu/bwe/downlink-allocator.js';
import type { DownTrack } from '../../../sfu/media/down-track.js';
import { TrackLayer } from '../../../sfu/media/track-layer.js';

/**
 * VP8 temporal layers in the allocation: a lowest layer that does not fit is sent at a lower frame rate before the
 * track is paused.
 */
afterEach(() => {
  vi.useRealTimers();
});

/** Three layers; the lowest, at 150 kbps, carries 60 kbps in TID 0 and 100 kbps in TIDs 0-1 (L1T3). */
const camera = (over: Partial<AllocatableTrack> = {}): AllocatableTrack => ({
  priority: 0,
  layerBps: [150_000, 500_000, 1_700_000],
  wanted: 2,
  allocated: 0,
  downgradedAt: -Infinity,
  upgradedAt: -Infinity,
  temporalBps: [60_000, 100_000],
  ...over,
});
const NOW = 1_000_000;
const at = (capacity: number, track: AllocatableTrack, proven?: number) => allocateLayers([track], capacity, NOW, proven)[0];

test('a lowest layer that does not fit goes down in frame rate (TIDs 0-1, then TID 0) before the track is paused', () => {
  // Flowing tracks keep a floor up to 110 % of the capacity.
  expect(at(140_000, camera())).toEqual({ layer: 0, temporal: ALL_TEMPORAL });
  expect(at(130_000, camera())).toEqual({ layer: 0, temporal: 1 });
  expect(at(80_000, camera())).toEqual({ layer: 0, temporal: 0 });
  expect(at(50_000, camera())).toEqual({ layer: PAUSED, temporal: ALL_TEMPORAL });
  // Without temporal layers (H264, VP8 without TIDs), as before: paused.
  expect(at(130_000, camera({ temporalBps: [] }))).toEqual({ layer: PAUSED, temporal: ALL_TEMPORAL });
  expect(at(130_000, camera({ temporalBps: undefined }))).toEqual({ layer: PAUSED, temporal: ALL_TEMPORAL });
});

test('the frame rate comes back as an upgrade does: kept up to 110 %, raised only within 85 % of what was proven', () => {
  const reduced = camera({ allocatedTemporal: 0 });
  // 100 kbps (TIDs 0-1) would fit in 110 % of 95 kbps, but a raise must fit in 85 %.
  expect(at(95_000, reduced)).toEqual({ layer: 0, temporal: 0 });
  expect(at(120_000, reduced)).toEqual({ layer: 0, temporal: 1 });
  expect(at(180_000, reduced)).toEqual({ layer: 0, temporal: ALL_TEMPORAL });
  // The estimate grew on its own but no probe proved it: held at the proven rate.
  expect(at(180_000, reduced, 100_000)).toEqual({ layer: 0, temporal: 0 });
  // A paused track may resume at a reduced frame rate, with the resume margin.
  const paused = camera({ allocated: PAUSED, allocatedTemporal: ALL_TEMPORAL });
  expect(at(80_000, paused)).toEqual({ layer: PAUSED, temporal: ALL_TEMPORAL });
  expect(at(90_000, paused)).toEqual({ layer: 0, temporal: 0 });
});

test('a track at a reduced frame rate gets no higher spatial layer; higher priorities keep their frame rate first', () => {
  const screen = camera({ priority: 2, allocated: 2 });
  // 200 kbps (floors up to 220): the screen share's lowest layer whole (150), the camera's at TID 0 (60).
  expect(allocateLayers([camera(), screen], 200_000, NOW)).toEqual([
    { layer: 0, temporal: 0 },
    { layer: 0, temporal: ALL_TEMPORAL },
  ]);
  expect(allocateLayers([camera(), screen], 300_000, NOW)).toEqual([
    { layer: 0, temporal: ALL_TEMPORAL },
    { layer: 0, temporal: ALL_TEMPORAL },
  ]);
});

/** One simulcast layer at 150 kbps sent as L1T3, TID 0 carrying 40 % of the bytes and TIDs 0-1 70 %. */
function vp8Layer(until: number): TrackLayer {
  const layer = new TrackLayer(0, { rid: 'q' }, 0);
  const sizes = [250, 75, 150, 75]; // bytes per frame by TID pattern 0 2 1 2 (payload; plus 40 of overhead)
  for (let t = until - 6000, frame = 0; t <= until; t += 1000 / 30, frame++) layer.received(sizes[frame % 4], t, [0, 2, 1, 2][frame % 4]);
  return layer;
}

test('the downlink allocator cuts the frame rate at once, pauses only once even TID 0 has not fitted for PAUSE_AFTER_MS, and tells the client', () => {
  vi.useFakeTimers();
  const now = performance.now();
  const layer = vp8Layer(now + PAUSE_AFTER_MS + 1000);
  const calls: string[] = [];
  const fake = {
    track: { kind: 'video', source: 'camera', layers: [layer] },
    setPaused: (paused: boolean) => calls.push(paused ? 'pause' : 'resume'),
    setMaxLayer: (index: number) => calls.push(`layer ${index}`),
    setMaxTemporalLayer: (tid: number) => calls.push(`temporal ${tid}`),
  };
  const states: VideoTrackState[] = [];
  const allocator = new DownlinkAllocator((_, state) => states.push(state));
  allocator.add(fake as unknown as DownTrack);
  const full = layer.expectedBitrateBps(now);
  expect(layer.temporalLayers).toBe(2);
  allocator.onEstimate(full, now);
  expect(states).toEqual([]);
  // Room for TIDs 0-1 but not the whole layer.
  allocator.onEstimate(0.8 * full, now + 100);
  expect(states).toEqual([{ paused: false, layer: 0, maxTemporalLayer: 1 }]);
  // Not even TID 0: the lowest frame rate for PAUSE_AFTER_MS, then paused.
  allocator.onEstimate(0.2 * full, now + 200);
  expect(states.slice(1)).toEqual([{ paused: false, layer: 0, maxTemporalLayer: 0 }]);
  allocator.run(now + 200 + PAUSE_AFTER_MS - 10);
  expect(states).toHaveLength(2);
  allocator.run(now + 200 + PAUSE_AFTER_MS);
  expect(states.slice(2)).toEqual([{ paused: true, layer: -1 }]);
  expect(calls).toEqual(['temporal 1', 'resume', 'layer 0', 'temporal 0', 'resume', 'layer 0', 'temporal 3', 'pause']);
  allocator.close();
});
