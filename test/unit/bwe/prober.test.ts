import { afterEach, expect, test, vi } from 'vitest';
import { PROBE_DURATION_MS, Prober, type PaddingSource } from '../../../sfu/bwe/prober.js';
import { SendSideEstimator } from '../../../sfu/bwe/send-side-estimator.js';
import { SentPackets } from '../../../sfu/bwe/sent-packets.js';

afterEach(() => {
  vi.useRealTimers();
});

function setup() {
  vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'setTimeout', 'clearTimeout', 'performance'] });
  const sent = new SentPackets();
  const estimator = new SendSideEstimator(sent);
  const expected: { id: number; packets: number }[] = [];
  estimator.expectCluster = (id, packets) => void expected.push({ id, packets });
  const applied: number[] = [];
  estimator.applyProbe = (bps) => void applied.push(bps);
  /** Sends 300-byte padding packets, recorded as the down track records them. */
  const source: PaddingSource = {
    sendPadding: () => {
      sent.setBytes(sent.record(performance.now()), 300, false);
      return 300;
    },
  };
  const results: [number, number | undefined][] = [];
  const prober = new Prober(sent, estimator, () => source, (target, result) => results.push([target, result]));
  return { sent, prober, expected, applied, results };
}

test('a probe pads up to its target rate for 100 ms as one cluster, then waits for its result with no timer running', () => {
  const { sent, prober, expected, applied, results } = setup();
  expect(prober.probe(1_000_000)).toBe(true);
  expect(prober.probing).toBe(true);
  expect(prober.probe(2_000_000)).toBe(false); // one at a time
  vi.advanceTimersByTime(PROBE_DURATION_MS + 10);
  // 1 Mbit/s for 100 ms is 12,500 bytes; padding runs one 5 ms tick ahead.
  expect(sent.totalBytes).toBeGreaterThanOrEqual(12_500);
  expect(sent.totalBytes).toBeLessThanOrEqual(12_500 + 1000 + 300);
  expect(expected).toEqual([{ id: 0, packets: sent.totalBytes / 300 }]);
  expect(vi.getTimerCount()).toBe(0);
  expect(prober.probing).toBe(true);
  // Another cluster's result is not this one's.
  prober.onResults(new Map([[5, 900_000]]));
  expect(results).toEqual([]);
  prober.onResults(new Map([[0, 950_000]]));
  expect(applied).toEqual([950_000]);
  expect(results).toEqual([[1_000_000, 950_000]]);
  expect(prober.probing).toBe(false);
  // A result that told nothing ends the probe without touching the estimate.
  prober.probe(1_000_000);
  vi.advanceTimersByTime(PROBE_DURATION_MS + 10);
  prober.onResults(new Map([[1, undefined]]));
  expect(results.at(-1)).toEqual([1_000_000, undefined]);
  expect(applied).toHaveLength(1);
});

test('media sent during the probe counts toward its target; close stops the timer and is idempotent', () => {
  const { sent, prober } = setup();
  prober.probe(1_000_000);
  // 6,000 bytes of media right after the start: padding makes up only the rest of the 12,500.
  sent.setBytes(sent.record(performance.now()), 6000, false);
  vi.advanceTimersByTime(PROBE_DURATION_MS + 10);
  const padding = sent.totalBytes - 6000;
  expect(padding).toBeGreaterThanOrEqual(12_500 - 6000);
  expect(padding).toBeLessThanOrEqual(12_500 - 6000 + 1000 + 300);
  prober.probe(1_000_000);
  prober.close();
  prober.close();
  expect(vi.getTimerCount()).toBe(0);
  expect(prober.probe(1_000_000)).toBe(false);
});
