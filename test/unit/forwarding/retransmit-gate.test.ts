import { expect, test } from 'vitest';
import { DEFAULT_MAX_RESENDS, DEFAULT_RESEND_INTERVAL_MS, RetransmitGate } from '../../../sfu/media/rtp/retransmit-gate.js';

test('a packet is resent at once, then not again within the resend interval', () => {
  const gate = new RetransmitGate(64);
  expect(gate.allow(1000, 0)).toBe(true);
  expect(gate.allow(1000, 5)).toBe(false);
  expect(gate.allow(1000, DEFAULT_RESEND_INTERVAL_MS - 1)).toBe(false);
  expect(gate.allow(1000, DEFAULT_RESEND_INTERVAL_MS)).toBe(true);
  expect(gate.allow(1001, 5)).toBe(true);
});

test(`at most ${DEFAULT_MAX_RESENDS} resends of one packet, however long the receiver keeps asking`, () => {
  const gate = new RetransmitGate(64);
  let sent = 0;
  for (let t = 0; t < 2000; t += 5) if (gate.allow(7, t)) sent++;
  expect(sent).toBe(DEFAULT_MAX_RESENDS);
});

test('the interval follows the measured RTT within 10–100 ms', () => {
  const gate = new RetransmitGate(64);
  gate.roundTripMs = 30;
  expect(gate.resendIntervalMs).toBe(30);
  gate.roundTripMs = 1;
  expect(gate.resendIntervalMs).toBe(10);
  gate.roundTripMs = 400;
  expect(gate.resendIntervalMs).toBe(100);
  gate.roundTripMs = 30;
  gate.allow(5, 0);
  expect(gate.allow(5, 29)).toBe(false);
  expect(gate.allow(5, 30)).toBe(true);
});

test('a sequence number sharing a slot, or the same number after a wrap, counts as a new packet', () => {
  const gate = new RetransmitGate(64);
  for (let t = 0; t < 500; t += 100) gate.allow(3, t);
  expect(gate.allow(3, 500)).toBe(false);
  expect(gate.allow(3 + 64, 500)).toBe(true);
  expect(gate.allow(3, 500)).toBe(true);
  for (let t = 600; t < 1000; t += 100) gate.allow(3, t);
  expect(gate.allow(3, 1000)).toBe(false);
  expect(gate.allow(3, 10_000)).toBe(true);
});

test('the size must be a power of two', () => {
  expect(() => new RetransmitGate(1000)).toThrow(RangeError);
});
