import { afterEach, expect, test, vi } from 'vitest';
import { DownlinkAllocator, type VideoTrackState } from '../../../sfu/bwe/downlink-allocator.js';
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

function downTrack(source: string, now: number) {
  const calls: string[] = [];
  const fake = {
    track: { kind: 'video', source, layers: layers(now) },
    setPaused: (paused: boolean) => calls.push(paused ? 'pause' : 'resume'),
    setMaxLayer: (layer: number) => calls.push(`layer ${layer}`),
  };
  return { downTrack: fake as unknown as DownTrack, calls };
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

test('a falling estimate lowers layers and pauses the camera before the screen share; the client is told each change', () => {
  vi.useFakeTimers();
  const now = performance.now();
  const states: [string, VideoTrackState][] = [];
  const allocator = new DownlinkAllocator((down, state) => states.push([(down.track as unknown as { source: string }).source, state]));
  const camera = downTrack('camera', now);
  const screen = downTrack('screen', now);
  allocator.add(camera.downTrack);
  allocator.add(screen.downTrack);
  expect(states).toEqual([]); // no estimate yet: both keep their top layer
  allocator.onEstimate(2_500_000, now);
  expect(states).toEqual([['camera', { paused: false, layer: 1 }]]);
  allocator.onEstimate(300_000, now + 200);
  expect(states.slice(1)).toEqual([
    ['camera', { paused: true, layer: -1 }],
    ['screen', { paused: false, layer: 0 }],
  ]);
  expect(camera.calls).toEqual(['resume', 'layer 1', 'pause']);
  allocator.close();
  allocator.close();
});

test('a hidden track is paused and comes back when shown; its timer stops with the last track', () => {
  vi.useFakeTimers();
  const now = performance.now();
  const states: VideoTrackState[] = [];
  const allocator = new DownlinkAllocator((_, state) => states.push(state));
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
