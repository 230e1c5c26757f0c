import { expect, test } from 'vitest';
import { Arrival, RESYNC_AFTER_STALE, RtpUnwrapper, UNWRAP_WINDOW } from '../../../sfu/media/rtp/rtp-unwrapper.js';

test('sequence numbers and timestamps keep counting across their wraps, late packets land before the newest', () => {
  const u = new RtpUnwrapper();
  expect(u.unwrap(1, 65_534, 0xffff_ff00)).toBe(Arrival.Newest);
  const first = u.sequenceNumber;
  const firstTs = u.timestamp;
  expect(u.unwrap(1, 1, 0x0000_0100)).toBe(Arrival.Newest);
  expect([u.sequenceNumber - first, u.timestamp - firstTs]).toEqual([3, 0x200]);
  expect(u.unwrap(1, 65_535, 0xffff_ff80)).toBe(Arrival.Late);
  expect([u.sequenceNumber - first, u.timestamp - firstTs]).toEqual([1, 0x80]);
  expect(u.unwrap(1, 0, 0)).toBe(Arrival.Late);
  expect(u.sequenceNumber - first).toBe(2);
});

test('a packet seen within the window is a duplicate; older than the window is stale', () => {
  const u = new RtpUnwrapper();
  u.unwrap(1, 100, 0);
  u.unwrap(1, 101, 0);
  expect(u.unwrap(1, 100, 0)).toBe(Arrival.Duplicate);
  expect(u.unwrap(1, 101, 0)).toBe(Arrival.Duplicate);
  for (let seq = 102; seq < 102 + UNWRAP_WINDOW; seq++) u.unwrap(1, seq & 0xffff, 0);
  expect(u.unwrap(1, 100, 0)).toBe(Arrival.Stale);
  // A gap the window slid over: its numbers are forgotten, so they arrive as late, not as duplicates.
  u.unwrap(1, 3000, 0);
  expect(u.unwrap(1, 2500, 0)).toBe(Arrival.Late);
});

test('a new SSRC starts a new numbering', () => {
  const u = new RtpUnwrapper();
  u.unwrap(1, 500, 0);
  expect(u.unwrap(2, 500, 0)).toBe(Arrival.Newest);
  expect(u.unwrap(2, 500, 0)).toBe(Arrival.Duplicate);
});

test('a sender whose numbering jumps by half the space is followed after a run of stale packets, not dropped forever', () => {
  const u = new RtpUnwrapper();
  u.unwrap(1, 10, 0);
  const before = u.sequenceNumber;
  let arrival = Arrival.Stale;
  let seq = 40_000;
  for (let i = 0; i < RESYNC_AFTER_STALE; i++) arrival = u.unwrap(1, seq++, 0);
  expect(arrival).toBe(Arrival.Newest);
  expect(u.sequenceNumber).toBe(before + 1);
  expect(u.unwrap(1, seq, 0)).toBe(Arrival.Newest);
  expect(u.sequenceNumber).toBe(before + 2);
});
