import { expect, test } from 'vitest';
import { KeyedRateLimiter, TokenBucket } from '../../../signaling/token-bucket.js';

test('a token bucket allows a burst, then the sustained rate', () => {
  const bucket = new TokenBucket(10, 5, 0);
  expect(Array.from({ length: 6 }, () => bucket.take(0))).toEqual([true, true, true, true, true, false]);
  expect(bucket.take(50)).toBe(false); // half a token
  expect(bucket.take(100)).toBe(true); // one token after 100 ms at 10/s
  expect(bucket.take(100)).toBe(false);
  expect(bucket.isFull(10_000)).toBe(true);
});

test('a keyed limiter keeps one bucket per key and forgets refilled ones', () => {
  const limiter = new KeyedRateLimiter(1, 2);
  expect([limiter.take('a', 0), limiter.take('a', 0), limiter.take('a', 0)]).toEqual([true, true, false]);
  expect(limiter.take('b', 0)).toBe(true);
  expect(limiter.size).toBe(2);
  limiter.sweep(500);
  expect(limiter.size).toBe(2);
  limiter.sweep(5000);
  expect(limiter.size).toBe(0);
});
