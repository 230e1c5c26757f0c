import { expect, test } from 'vitest';
import { DelayTrend, SUSTAINED_OVERUSE_MS, Usage } from '../../../sfu/bwe/delay-trend.js';
import { LinkSimulator } from '../../helpers/link-simulator.js';

const Mbps = 1_000_000;
const kbps = 1000;

test('the delay trend: steady delay is normal, a growing queue is over-use, a draining one under-use', () => {
  // A packet every 10 ms whose one-way delay changes by `growthMs` per packet, from 150 ms.
  const run = (growthMs: number) => {
    const trend = new DelayTrend();
    for (let i = 0; i < 200; i++) trend.add(i * 10, i * 10 + 150 + i * growthMs, i * 10);
    return trend.usage;
  };
  expect(run(0)).toBe(Usage.Normal);
  expect(run(1)).toBe(Usage.Overusing);
  expect(run(-0.5)).toBe(Usage.Underusing);
});

test('steady: sending under the link\'s rate leaves the estimate undefined (nothing limited)', () => {
  const link = new LinkSimulator(5 * Mbps);
  link.run(20_000, () => 1 * Mbps);
  expect(link.estimator.estimateBps).toBeUndefined();
});

test('step down: sending 2 Mbit/s into 1 Mbit/s sets the estimate below the link within a second', () => {
  const link = new LinkSimulator(1 * Mbps);
  link.run(1000, () => 2 * Mbps);
  const estimate = link.estimator.estimateBps!;
  expect(estimate).toBeGreaterThan(0.6 * Mbps);
  expect(estimate).toBeLessThan(1 * Mbps);
  expect(link.estimator.lastCongestionMs).toBeGreaterThan(0);
});

test('closed loop: a sender following the estimate on a 1 Mbit/s link stays near it, without collapse or runaway, for a minute', () => {
  const link = new LinkSimulator(1 * Mbps);
  const seen: number[] = [];
  link.run(60_000, () => {
    const estimate = link.estimator.estimateBps ?? 3 * Mbps;
    if (link.nowMs % 1000 === 0 && link.nowMs >= 10_000) seen.push(estimate);
    return estimate;
  });
  expect(Math.min(...seen)).toBeGreaterThan(0.6 * Mbps);
  expect(Math.max(...seen)).toBeLessThan(1.4 * Mbps);
});

test('a subscriber that holds its feedback (a busy machine) and then sends it in pieces: the rate is measured by arrival, cuts stay near the link', () => {
  const link = new LinkSimulator(1 * Mbps);
  link.maxPacketsPerFeedback = 10;
  const seen: number[] = [];
  link.run(2000, () => 1.5 * Mbps);
  for (let second = 0; second < 20; second++) {
    link.holdFeedback(400);
    link.run(1000, () => link.estimator.estimateBps ?? 1.5 * Mbps);
    seen.push(link.estimator.estimateBps!);
  }
  // Measured by when feedback reached the server, the first piece after each hold looked like a fifth of the rate.
  expect(Math.min(...seen)).toBeGreaterThan(0.6 * Mbps);
  expect(Math.max(...seen)).toBeLessThan(1.4 * Mbps);
});

test('a burst that fills the queue (a probe, a key frame) on an application-limited link cuts to what the link delivered during it, not to the half-second average', () => {
  const link = new LinkSimulator(600 * kbps);
  const seen: number[] = [];
  // 400 kbit/s of media, and every 3 s a 100 ms burst at 1.5 Mbit/s.
  link.run(30_000, (now) => {
    if (now >= 5000 && now % 500 === 0 && link.estimator.estimateBps !== undefined) seen.push(link.estimator.estimateBps);
    return now % 3000 < 100 ? 1.5 * Mbps : 400 * kbps;
  });
  expect(link.estimator.lastCongestionMs).toBeGreaterThan(0);
  // Cut by the half second alone, it fell to 454 kbit/s; the link carries 600, and 0.85 x 600 is 510.
  expect(Math.min(...seen)).toBeGreaterThan(500 * kbps);
});

test('random loss under 10 % cuts nothing; heavy loss cuts, never below what still arrives', () => {
  const light = new LinkSimulator(10 * Mbps);
  light.lossRate = 0.03;
  light.run(30_000, () => 1 * Mbps);
  expect(light.estimator.estimateBps).toBeUndefined();
  const heavy = new LinkSimulator(10 * Mbps);
  heavy.lossRate = 0.25;
  heavy.run(5000, () => 1 * Mbps);
  expect(heavy.estimator.estimateBps).toBeDefined();
  // 0.85 x the ~750 kbit/s that arrives, at the lowest.
  expect(heavy.estimator.estimateBps!).toBeGreaterThan(0.85 * 0.7 * Mbps);
  expect(heavy.estimator.estimateBps!).toBeLessThan(1 * Mbps);
});

test('a 10 s cut of the path (every packet lost, no feedback) is an outage, not congestion: the estimate is where it was once feedback returns', () => {
  const link = new LinkSimulator(1 * Mbps);
  link.run(10_000, () => link.estimator.estimateBps ?? 1.5 * Mbps);
  const before = link.estimator.estimateBps!;
  expect(before).toBeGreaterThan(0.6 * Mbps);
  link.cut = true;
  link.run(10_000, () => link.estimator.estimateBps!);
  link.cut = false;
  link.run(1000, () => link.estimator.estimateBps!);
  expect(link.estimator.estimateBps!).toBeGreaterThanOrEqual(0.85 * before);
  // Heavy loss after the outage still cuts: the rule covers only what was sent while no feedback came.
  link.lossRate = 0.4;
  link.run(2000, () => link.estimator.estimateBps!);
  expect(link.estimator.estimateBps!).toBeLessThan(0.6 * before);
});

test('step up: a probe cluster measures the link; its result raises the estimate, AIMD growth alone would not', () => {
  const link = new LinkSimulator(500 * kbps);
  link.run(3000, () => link.estimator.estimateBps ?? 1 * Mbps);
  const congested = link.estimator.estimateBps!;
  expect(congested).toBeLessThan(500 * kbps);
  link.capacityBps = 3 * Mbps;
  // Media at the estimate; a 100 ms cluster at 1.5 Mbit/s in 300-byte packets on top (as the prober pads).
  link.run(2000, () => congested);
  link.sent.startCluster(7);
  link.run(100, () => 1.5 * Mbps, 300);
  link.estimator.expectCluster(7, link.sent.endCluster(), link.nowMs);
  link.run(500, () => congested);
  const result = link.probeResults.get(7)!;
  expect(result).toBeGreaterThan(1.3 * Mbps);
  expect(result).toBeLessThan(1.7 * Mbps);
  link.estimator.applyProbe(result, link.nowMs);
  expect(link.estimator.estimateBps).toBe(result);
});

test('a probe into a link that is still narrow reports the link, not the probe', () => {
  const link = new LinkSimulator(500 * kbps);
  link.run(3000, () => link.estimator.estimateBps ?? 1 * Mbps);
  link.sent.startCluster(3);
  link.run(100, () => 1.5 * Mbps, 300);
  link.estimator.expectCluster(3, link.sent.endCluster(), link.nowMs);
  link.run(1000, () => 300 * kbps);
  const result = link.probeResults.get(3)!;
  expect(result).toBeGreaterThan(0.35 * Mbps);
  expect(result).toBeLessThan(0.55 * Mbps);
});

test('a late stamp is not a queue: delay trends under SUSTAINED_OVERUSE_MS cut nothing; a queue that keeps growing does', () => {
  // Packets every 10 ms. Every 2 s the receiver stamps ten packets up to 40 ms late (a busy machine), then catches up.
  const trend = new DelayTrend();
  let overuse = 0;
  let sustained = 0;
  for (let i = 0; i < 3000; i++) {
    const phase = i % 200;
    const late = phase >= 100 && phase < 110 ? (phase - 99) * 4 : 0;
    trend.add(i * 10, i * 10 + 20 + late, i * 10 + 50);
    if (trend.usage === Usage.Overusing) overuse++;
    if (trend.sustainedOveruse) sustained++;
  }
  // GCC's detector calls each of them over-use; none lasts.
  expect(overuse).toBeGreaterThan(0);
  expect(sustained).toBe(0);
  // A bottleneck: from packet 500 on, each packet waits 2 ms more than the one before.
  const queued = new DelayTrend();
  let sustainedAt = -1;
  for (let i = 0; i < 1000 && sustainedAt < 0; i++) {
    queued.add(i * 10, i * 10 + 20 + Math.max(0, i - 500) * 2, i * 10 + 50);
    if (queued.sustainedOveruse) sustainedAt = i;
  }
  expect(sustainedAt).toBeGreaterThan(500);
  expect(sustainedAt).toBeLessThan(500 + 30);
  expect(sustainedAt - 500).toBeGreaterThanOrEqual(SUSTAINED_OVERUSE_MS / 10);
});
