import { expect, test } from 'vitest';
import { allocate, HOLD_AFTER_DOWNGRADE_MS, PAUSED, UPGRADE_INTERVAL_MS, type AllocatableTrack } from '../../../sfu/bwe/allocator.js';

/** A camera sending three layers: 150 kbps, 500 kbps, 1.7 Mbps. */
const LAYERS = [150_000, 500_000, 1_700_000];
const camera = (over: Partial<AllocatableTrack> = {}): AllocatableTrack => ({
  priority: 0,
  layerBps: LAYERS,
  wanted: 2,
  allocated: 2,
  downgradedAt: -Infinity,
  upgradedAt: -Infinity,
  ...over,
});
const NOW = 1_000_000;

test('without an estimate, or with room for all, every track may have what it wants', () => {
  expect(allocate([camera(), camera({ wanted: 1 }), camera({ wanted: PAUSED })], undefined, NOW)).toEqual([2, 1, PAUSED]);
  // A top layer never received has no price: the cap is the highest that has one. (A stopped layer is priced at
  // what it cost when it ran, and allocated like any other: that is what starts it again.)
  expect(allocate([camera({ layerBps: [150_000, 500_000, 0] })], 10_000_000, NOW)).toEqual([1]);
  // Cut by bandwidth: capped where the cut is.
  expect(allocate([camera({ layerBps: [150_000, 500_000, 0] })], 400_000, NOW)).toEqual([0]);
});

test('600 kbps for three cameras: everyone gets the low layer before anyone a higher one', () => {
  expect(allocate([camera(), camera(), camera()], 600_000, NOW)).toEqual([0, 0, 0]);
});

test('higher priorities are raised first; tracks of one priority share what is left layer by layer', () => {
  // 2.5 Mbps: the screen share (priority 2) keeps its top layer (1.7 Mbps); the two cameras get the low and then
  // the middle layer together (0.15 + 0.5 + 0.5), not one top layer.
  const result = allocate([camera(), camera({ priority: 2 }), camera()], 2_500_000, NOW);
  expect(result).toEqual([1, 2, 0]);
  const used = result.reduce((sum, layer) => sum + LAYERS[layer], 0);
  expect(used).toBeLessThanOrEqual(0.95 * 2_500_000);
  expect(allocate([camera(), camera()], 1_400_000, NOW)).toEqual([1, 1]);
});

test('when even the lowest layers do not fit, the lowest priorities are paused first', () => {
  expect(allocate([camera(), camera({ priority: 1 }), camera()], 350_000, NOW)).toEqual([0, 0, PAUSED]);
  expect(allocate([camera(), camera({ priority: 1 })], 100_000, NOW)).toEqual([PAUSED, PAUSED]);
});

test('a paused track resumes only with room to spare; upgrades wait for the hold, and for the interval when a downgrade undid the last one', () => {
  const paused = camera({ allocated: PAUSED, downgradedAt: NOW - 1000 });
  // Its 150 kbps would fit in 95 % of 170 kbps, but a resume needs 1.2 x 150 kbps within 85 %.
  expect(allocate([paused], 170_000, NOW)).toEqual([PAUSED]);
  expect(allocate([paused], 220_000, NOW)).toEqual([0]);
  const low = camera({ allocated: 0, downgradedAt: NOW - 1000 });
  expect(allocate([low], 5_000_000, NOW)).toEqual([0]);
  expect(allocate([low], 5_000_000, NOW - 1000 + HOLD_AFTER_DOWNGRADE_MS)).toEqual([2]);
  // Up after a downgrade 11 s ago, and on up: a recovery going on is not held back.
  const recovering = camera({ allocated: 1, downgradedAt: NOW - 11_000, upgradedAt: NOW - 1000 });
  expect(allocate([recovering], 5_000_000, NOW)).toEqual([2]);
  // Up 12 s ago, then down again 11 s ago: the next recovery waits for the interval since that upgrade.
  const undone = camera({ allocated: 0, downgradedAt: NOW - 11_000, upgradedAt: NOW - 12_000 });
  expect(allocate([undone], 5_000_000, NOW)).toEqual([0]);
  expect(allocate([undone], 5_000_000, NOW - 12_000 + UPGRADE_INTERVAL_MS)).toEqual([2]);
});

test('hysteresis: a track keeps its layer up to 95 % of the capacity, gets it back only within 85 %', () => {
  const at = (capacity: number, allocated: number) => allocate([camera({ allocated })], capacity, NOW)[0];
  expect(at(1_700_000 / 0.95, 2)).toBe(2);
  expect(at(1_700_000 / 0.95 - 10_000, 2)).toBe(1);
  expect(at(1_700_000 / 0.9, 1)).toBe(1);
  expect(at(1_700_000 / 0.85, 1)).toBe(2);
});
