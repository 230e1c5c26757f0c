import { expect, test } from 'vitest';
import { DataRateLimit } from '../../../sfu/session/data-rate-limit.js';

const limits = { dataMessagesPerSecond: 10, dataMessageBurst: 20, dataBytesPerSecond: 1000, dataBytesBurst: 2000 };

test('a burst passes, then messages pass at the sustained rate', () => {
  const limit = new DataRateLimit(limits, 0);
  let passed = 0;
  for (let i = 0; i < 100; i++) if (limit.take(1, 0)) passed++;
  expect(passed).toBe(20);
  // One second later: ten more.
  passed = 0;
  for (let i = 0; i < 100; i++) if (limit.take(1, 1000)) passed++;
  expect(passed).toBe(10);
});

test('bytes are limited on their own, and a refused message takes nothing', () => {
  const limit = new DataRateLimit(limits, 0);
  expect(limit.take(1500, 0)).toBe(true);
  expect(limit.take(600, 0)).toBe(false);
  expect(limit.take(500, 0)).toBe(true);
  expect(limit.take(1, 0)).toBe(false);
  expect(limit.take(1000, 1000)).toBe(true);
});

test('the sender is told at most once a second', () => {
  const limit = new DataRateLimit(limits, 0);
  expect(limit.shouldNotify(0)).toBe(true);
  expect(limit.shouldNotify(500)).toBe(false);
  expect(limit.shouldNotify(1000)).toBe(true);
});
