import { expect, test } from 'vitest';
import { DropReason, Forwarder, type ForwardResult } from '../../../sfu/forwarder.js';

const out = (): ForwardResult => ({ sequenceNumber: -1, timestamp: -1 });

test('video waits for a key frame, then numbers packets continuously from the initial values', () => {
  const f = new Forwarder(true, 3000, 500, 10_000);
  const r = out();
  expect(f.decide(1, 100, 90_000, false, r)).toBe(DropReason.WaitingForKeyframe);
  expect(f.decide(1, 101, 93_000, true, r)).toBe(DropReason.None);
  expect(r).toEqual({ sequenceNumber: 500, timestamp: 10_000 });
  expect(f.decide(1, 102, 93_000, false, r)).toBe(DropReason.None);
  expect(r).toEqual({ sequenceNumber: 501, timestamp: 10_000 });
  expect(f.decide(1, 104, 96_000, false, r)).toBe(DropReason.None);
  expect(r).toEqual({ sequenceNumber: 503, timestamp: 13_000 });
});

test('a packet older than the start is dropped (it was never forwarded)', () => {
  const f = new Forwarder(true, 3000, 0, 0);
  const r = out();
  f.decide(1, 200, 0, true, r);
  expect(f.decide(1, 199, 0, false, r)).toBe(DropReason.BeforeStart);
});

test('audio starts at once; sequence numbers and timestamps wrap', () => {
  const f = new Forwarder(false, 960, 65_535, 0xffff_fc40);
  const r = out();
  expect(f.decide(7, 10, 1000, false, r)).toBe(DropReason.None);
  expect(r).toEqual({ sequenceNumber: 65_535, timestamp: 0xffff_fc40 });
  f.decide(7, 11, 1960, false, r);
  expect(r).toEqual({ sequenceNumber: 0, timestamp: 0 });
});

test('a new source continues after the last output, one frame later, from its next key frame', () => {
  const f = new Forwarder(true, 3000, 1000, 50_000);
  const r = out();
  f.decide(1, 10, 0, true, r);
  f.decide(1, 11, 3000, false, r);
  expect(r).toEqual({ sequenceNumber: 1001, timestamp: 53_000 });
  expect(f.decide(2, 7000, 123_456, false, r)).toBe(DropReason.WaitingForKeyframe);
  expect(f.decide(2, 7001, 126_456, true, r)).toBe(DropReason.None);
  expect(r).toEqual({ sequenceNumber: 1002, timestamp: 56_000 });
});

test('pause drops everything; resume waits for a key frame again', () => {
  const f = new Forwarder(true, 3000, 0, 0);
  const r = out();
  f.decide(1, 1, 0, true, r);
  f.pause();
  expect(f.decide(1, 2, 0, true, r)).toBe(DropReason.Paused);
  f.resume();
  expect(f.decide(1, 3, 3000, false, r)).toBe(DropReason.WaitingForKeyframe);
  expect(f.decide(1, 4, 6000, true, r)).toBe(DropReason.None);
});

test('maps an outgoing sequence number back to the incoming one, and incoming timestamps forward (NACK answers)', () => {
  const f = new Forwarder(true, 3000, 40_000, 7);
  const r = out();
  f.decide(1, 65_530, 1_000, true, r);
  for (let seq = 65_531; seq !== 20; seq = (seq + 1) & 0xffff) {
    f.decide(1, seq, 1_000, false, r);
    expect(f.incomingSequenceNumber(r.sequenceNumber)).toBe(seq);
  }
  expect(f.outgoingTimestamp(4_000)).toBe(3_007);
});
