import { expect, test } from 'vitest';
import { SENT_OVERHEAD_BYTES, TrackLayer } from '../../../sfu/media/track-layer.js';

/** Feeds `layer` packets of `payload` bytes every `everyMs` from `fromMs` for `forMs`; returns the time after. */
function feed(layer: TrackLayer, fromMs: number, forMs: number, payload: number, everyMs = 10): number {
  for (let t = fromMs; t < fromMs + forMs; t += everyMs) layer.received(payload, t);
  return fromMs + forMs;
}

const kbps = (bytesPer10ms: number) => ((bytesPer10ms + SENT_OVERHEAD_BYTES) * 8 * 100) / 1000;

test('a layer\'s bitrate is averaged over its last five seconds: a key frame\'s second moves it little', () => {
  const layer = new TrackLayer(0, {}, 0);
  let t = feed(layer, 0, 6000, 85);
  const steady = layer.bitrateBps / 1000;
  expect(steady).toBeCloseTo(kbps(85), 0);
  // One second at three times the rate (a key frame and its aftermath), then steady again.
  t = feed(layer, t, 1000, 3 * 85 + 2 * SENT_OVERHEAD_BYTES);
  t = feed(layer, t, 1010, 85);
  expect(layer.bitrateBps / 1000).toBeGreaterThan(steady);
  expect(layer.bitrateBps / 1000).toBeLessThan(1.5 * steady);
  // Five seconds later the spike has left the average.
  t = feed(layer, t, 5000, 85);
  expect(layer.bitrateBps / 1000).toBeCloseTo(steady, 0);
  // A long silence (the publisher stopped the layer): its rate starts again from nothing.
  layer.received(85, t + 3000);
  expect(layer.bitrateBps).toBe(0);
  feed(layer, t + 3010, 1100, 85);
  expect(layer.bitrateBps / 1000).toBeCloseTo(kbps(85), -1);
});
