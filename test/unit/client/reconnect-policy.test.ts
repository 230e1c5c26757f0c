import { expect, test } from 'vitest';
import { reconnectAfterClose, reconnectDelayMs, retryJoinAfter } from '../../../client/sdk/reconnect-policy.js';

test('a lost session is joined again unless another join with the same token cannot help', () => {
  // Node died (1006), drains (4050), room moved (4012), heartbeat timeout (4005), media connection failed (4009).
  for (const code of [1001, 1006, 1011, 1012, 1013, 4005, 4009, 4010, 4012, 4050]) expect(reconnectAfterClose(code), `close ${code}`).toBe(true);
  // Left, protocol broken, token refused or expired, wrong room, replaced, room full, data stalled, rate limited.
  for (const code of [1000, 1008, 1009, 4001, 4002, 4003, 4004, 4007, 4008, 4029]) expect(reconnectAfterClose(code), `close ${code}`).toBe(false);
  expect(retryJoinAfter('ROOM_UNAVAILABLE')).toBe(true);
  expect(retryJoinAfter('CLIENT_CONNECTION_CLOSED')).toBe(true);
  for (const code of ['TOKEN_EXPIRED', 'TOKEN_INVALID', 'WRONG_ROOM', 'ROOM_FULL']) expect(retryJoinAfter(code), code).toBe(false);
});

test('waits grow from 250 ms to at most 2 s, each a random share of its cap (full jitter)', () => {
  expect([0, 1, 2, 3, 4, 10].map((n) => reconnectDelayMs(n, () => 1))).toEqual([250, 500, 1000, 2000, 2000, 2000]);
  expect(reconnectDelayMs(5, () => 0)).toBe(0);
  let seed = 7;
  const random = () => ((seed = (seed * 16807) % 2147483647) - 1) / 2147483646;
  const waits = Array.from({ length: 1000 }, () => reconnectDelayMs(6, random));
  expect(Math.max(...waits)).toBeLessThanOrEqual(2000);
  // A room's clients spread over the interval instead of arriving together: every tenth of it is used.
  expect(new Set(waits.map((w) => Math.min(9, Math.floor(w / 200)))).size).toBe(10);
});
