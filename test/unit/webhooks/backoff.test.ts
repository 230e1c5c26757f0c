import { expect, test } from 'vitest';
import { backoffDelayMs, isRetryableStatus, retryAfterMs } from '../../../webhooks/index.js';

test('the delay doubles per retry between half and all of its ceiling, and stops at the cap', () => {
  const low = () => 0;
  const high = () => 1;
  expect([1, 2, 3, 4].map((n) => backoffDelayMs(n, 500, 30_000, high))).toEqual([500, 1000, 2000, 4000]);
  expect([1, 2, 3, 4].map((n) => backoffDelayMs(n, 500, 30_000, low))).toEqual([250, 500, 1000, 2000]);
  expect(backoffDelayMs(7, 500, 30_000, high)).toBe(30_000);
  expect(backoffDelayMs(60, 500, 30_000, low)).toBe(15_000);
  for (let i = 0; i < 1000; i++) {
    const delay = backoffDelayMs(3, 500, 30_000);
    expect(delay).toBeGreaterThanOrEqual(1000);
    expect(delay).toBeLessThanOrEqual(2000);
  }
});

test('jitter spreads the retries of many senders', () => {
  const delays = new Set(Array.from({ length: 200 }, () => backoffDelayMs(5, 500, 30_000)));
  expect(delays.size).toBeGreaterThan(100);
});

test('Retry-After is read as seconds or as an HTTP date', () => {
  expect(retryAfterMs(null)).toBeUndefined();
  expect(retryAfterMs('3')).toBe(3000);
  expect(retryAfterMs('soon')).toBeUndefined();
  const now = Date.parse('2026-01-01T00:00:00Z');
  expect(retryAfterMs('Thu, 01 Jan 2026 00:00:05 GMT', now)).toBe(5000);
  expect(retryAfterMs('Thu, 01 Jan 2025 00:00:05 GMT', now)).toBe(0);
});

test('5xx, 408 and 429 are retried; other 4xx are not', () => {
  expect([500, 502, 503, 504, 408, 429].every(isRetryableStatus)).toBe(true);
  expect([400, 401, 403, 404, 410, 413].some(isRetryableStatus)).toBe(false);
});
