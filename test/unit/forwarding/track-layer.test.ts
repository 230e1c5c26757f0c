import { expect, test } from 'vitest';
import { SENT_OVERHEAD_BYTES, TrackLayer } from '../../../sfu/media/track-layer.js';

/** Feeds `layer` packets of `payload` bytes every `everyMs` from `fromMs` for `forMs`; returns the time after. */
function feed(layer: TrackLayer, fromMs: number, forMs: number, payload: number, everyMs = 10): number {
  for (let t = fromMs; t < fromMs + forMs; t += everyMs) layer.received(payload, t);
  return fromMs + forMs;
}

const kbps = (bytesPer10ms: number) => ((bytesPer10ms + SENT_OVERHEAD_BYTES) * 8 * 100) / 1000;

test('a layer\'s bitrate is averaged over its last five seconds (a key frame\'s second moves it little); stopped, it keeps its price', () => {
  const layer = new TrackLayer(0, {}, 0);
  let t = feed(layer, 0, 6000, 85);
  const steady = layer.bitrateBps / 1000;
  expect(steady).toBeCloseTo(kbps(85), 0);
  // One second at three times the rate (a key frame and its aftermath), then steady again.
  t = feed(layer, t, 1000, 3 * 85 + 2 * SENT_OVERHEAD_BYTES);
  t = feed(layer, t, 1010, 85);
  expect(layer.bitrateBps / 1000).toBeGreaterThan(steady);
  expect(layer.bitrateBps / 1000).toBeLessThan(1.5 * steady);
  // Switching up to it costs its busiest second (a switch starts with a key frame), at most 1.5 x its average.
  expect(layer.switchBitrateBps(t) / 1000).toBeCloseTo((1.5 * layer.bitrateBps) / 1000, 0);
  // Five seconds later the spike has left the average.
  t = feed(layer, t, 5000, 85);
  expect(layer.bitrateBps / 1000).toBeCloseTo(steady, 0);
  expect(layer.switchBitrateBps(t) / 1000).toBeLessThan(1.1 * steady);
  // Stopped (dynacast, or the publisher's encoder): what it would cost is what it cost when it ran.
  expect(layer.active(t + 3000)).toBe(false);
  expect(layer.expectedBitrateBps(t + 3000) / 1000).toBeCloseTo(steady, 0);
  // Started again after the long silence, ramping up from a tenth of its old rate: its average starts again, and it
  // is priced no lower than before it stopped until that average is whole (five windows)...
  layer.received(85, t + 3000);
  expect(layer.bitrateBps).toBe(0);
  t = feed(layer, t + 3010, 2990, 5);
  expect(layer.bitrateBps / 1000).toBeLessThan(0.5 * steady);
  expect(layer.expectedBitrateBps(t) / 1000).toBeCloseTo(steady, 0);
  // ...then at what it measures.
  feed(layer, t, 3000, 5);
  expect(layer.expectedBitrateBps(t + 3000) / 1000).toBeLessThan(0.5 * steady);
  // A layer that never stopped is priced from its first window's first quarter-second.
  const fresh = new TrackLayer(1, {}, 0);
  feed(fresh, 0, 300, 85);
  expect(fresh.expectedBitrateBps(300) / 1000).toBeCloseTo(kbps(85), -1);
});

test('a VP8 layer is priced per temporal layer too: cumulative shares of its bytes, kept while it is stopped', () => {
  const layer = new TrackLayer(0, {}, 0);
  // L1T3 at 30 fps: TL0 frames of 300 bytes, TL1 of 150, TL2 of 100 (pattern 0 2 1 2).
  const sizes = [300, 100, 150, 100];
  let t = 0;
  for (let frame = 0; frame < 30 * 6; frame++, t += 1000 / 30) layer.received(sizes[frame % 4], t, [0, 2, 1, 2][frame % 4]);
  const wire = sizes.map((size) => size + SENT_OVERHEAD_BYTES);
  const total = wire[0] + wire[1] + wire[2] + wire[3];
  expect(layer.temporalLayers).toBe(2);
  expect(layer.temporalShare(0)).toBeCloseTo(wire[0] / total, 2);
  expect(layer.temporalShare(1)).toBeCloseTo((wire[0] + wire[2]) / total, 2);
  expect(layer.temporalShare(2)).toBe(1);
  expect(layer.temporalShare(3)).toBe(1);
  // The full layer's price is as before.
  expect(layer.expectedBitrateBps(t)).toBeCloseTo((total * 7.5 * 8), -3);
  // Stopped: the shares stay with the price.
  expect(layer.active(t + 3000)).toBe(false);
  expect(layer.temporalShare(0)).toBeCloseTo(wire[0] / total, 2);
  // Without TIDs (H264, VP8 without temporal layers): one layer, all of it.
  const plain = new TrackLayer(0, {}, 0);
  feed(plain, 0, 3000, 100);
  expect(plain.temporalLayers).toBe(0);
  expect(plain.temporalShare(0)).toBe(1);
});
