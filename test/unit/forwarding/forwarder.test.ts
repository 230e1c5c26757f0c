import { expect, test } from 'vitest';
import { DropReason, Forwarder, type ForwardResult } from '../../../sfu/media/forwarder.js';
import { RtpUnwrapper } from '../../../sfu/media/rtp/rtp-unwrapper.js';

const out = (): ForwardResult => ({ sequenceNumber: -1, timestamp: -1, newest: false });
const result = (sequenceNumber: number, timestamp: number) => expect.objectContaining({ sequenceNumber, timestamp });

/** What a published track does at the edge, then one down track's decision: 16-bit numbers in and out. */
function pipeline(f: Forwarder) {
  const unwrapper = new RtpUnwrapper();
  return (ssrc: number, seq: number, ts: number, keyframe: boolean, r: ForwardResult) => {
    unwrapper.unwrap(ssrc, seq, ts);
    return f.decide(ssrc, unwrapper.sequenceNumber, unwrapper.timestamp, keyframe, r);
  };
}

test('video waits for a key frame, then numbers packets continuously from the initial values', () => {
  const f = new Forwarder(true, 3000, 500, 10_000);
  const decide = pipeline(f);
  const r = out();
  expect(decide(1, 100, 90_000, false, r)).toBe(DropReason.WaitingForKeyframe);
  expect(decide(1, 101, 93_000, true, r)).toBe(DropReason.None);
  expect(r).toEqual({ sequenceNumber: 500, timestamp: 10_000, newest: true });
  expect(decide(1, 102, 93_000, false, r)).toBe(DropReason.None);
  expect(r).toEqual(result(501, 10_000));
  expect(decide(1, 104, 96_000, false, r)).toBe(DropReason.None);
  expect(r).toEqual(result(503, 13_000));
});

test('a packet older than the start is dropped (it was never forwarded); a late one after it takes its place', () => {
  const f = new Forwarder(true, 3000, 0, 0);
  const decide = pipeline(f);
  const r = out();
  decide(1, 200, 0, true, r);
  decide(1, 202, 3000, false, r);
  expect(decide(1, 199, 0, false, r)).toBe(DropReason.BeforeStart);
  expect(decide(1, 201, 0, false, r)).toBe(DropReason.None);
  expect(r).toEqual({ sequenceNumber: 1, timestamp: 0, newest: false });
});

test('audio starts at once; sequence numbers and timestamps wrap', () => {
  const f = new Forwarder(false, 960, 65_535, 0xffff_fc40);
  const decide = pipeline(f);
  const r = out();
  expect(decide(7, 10, 1000, false, r)).toBe(DropReason.None);
  expect(r).toEqual(result(65_535, 0xffff_fc40));
  decide(7, 11, 1960, false, r);
  expect(r).toEqual(result(0, 0));
});

test('keeps forwarding past 32,768 and 65,536 packets (the 16-bit window)', () => {
  const f = new Forwarder(true, 3000, 10, 0);
  const decide = pipeline(f);
  const r = out();
  expect(decide(1, 40_000, 0, true, r)).toBe(DropReason.None);
  let wrong = 0;
  for (let i = 1; i < 200_000; i++) {
    const drop = decide(1, (40_000 + i) & 0xffff, i * 30, false, r);
    if (drop !== DropReason.None || r.sequenceNumber !== ((10 + i) & 0xffff) || r.timestamp !== i * 30) wrong++;
  }
  expect(wrong).toBe(0);
});

test('a new source continues after the last output, one frame later, from its next key frame', () => {
  const f = new Forwarder(true, 3000, 1000, 50_000);
  const decide = pipeline(f);
  const r = out();
  decide(1, 10, 0, true, r);
  decide(1, 11, 3000, false, r);
  expect(r).toEqual(result(1001, 53_000));
  expect(decide(2, 7000, 123_456, false, r)).toBe(DropReason.WaitingForKeyframe);
  expect(decide(2, 7001, 126_456, true, r)).toBe(DropReason.None);
  expect(r).toEqual(result(1002, 56_000));
  expect(f.sourceSsrc).toBe(2);
});

test('a new source aligned by Sender Reports starts at the aligned timestamp; one too early or too far takes a frame step', () => {
  const switchTo = (aligned: number) => {
    const f = new Forwarder(true, 3000, 1000, 0xffff_0000);
    const decide = pipeline(f);
    const r = out();
    decide(1, 10, 500, true, r);
    decide(1, 11, 3500, false, r); // last sent: 0xffff_0000 + 3000
    f.alignNextSource(aligned >>> 0);
    decide(2, 7000, 123_456, true, r);
    return r.timestamp;
  };
  const last = 0xffff_0000 + 3000;
  // 40 ms after the last frame on the old layer's timeline (the new layer's key frame was captured then), across the 32-bit wrap.
  expect(switchTo(last + 3600)).toBe((last + 3600) >>> 0);
  expect(switchTo(last + 90_000 * 5 + 1)).toBe((last + 3000) >>> 0);
  expect(switchTo(last)).toBe((last + 3000) >>> 0);
  expect(switchTo(last - 9000)).toBe((last + 3000) >>> 0);
});

test('pause drops everything; resume waits for a key frame again and continues the numbering', () => {
  const f = new Forwarder(true, 3000, 0, 0);
  const decide = pipeline(f);
  const r = out();
  decide(1, 1, 0, true, r);
  f.pause();
  expect(decide(1, 2, 0, true, r)).toBe(DropReason.Paused);
  f.resume();
  expect(decide(1, 3, 3000, false, r)).toBe(DropReason.WaitingForKeyframe);
  expect(decide(1, 4, 6000, true, r)).toBe(DropReason.None);
  expect(r).toEqual(result(1, 3000));
});

test('maps an outgoing sequence number back to the incoming one across wraps; none for what was not forwarded', () => {
  const f = new Forwarder(true, 3000, 40_000, 7);
  const decide = pipeline(f);
  const r = out();
  decide(1, 65_530, 1_000, true, r);
  const first = r.sequenceNumber;
  for (let i = 1; i < 140_000; i++) {
    const seq = (65_530 + i) & 0xffff;
    decide(1, seq, 1_000, false, r);
    if (f.incomingSequenceNumber(r.sequenceNumber) !== seq) expect(f.incomingSequenceNumber(r.sequenceNumber)).toBe(seq);
  }
  expect(f.outgoingTimestamp(4_000)).toBe(3_007);
  expect(f.incomingSequenceNumber((r.sequenceNumber + 1) & 0xffff)).toBe(-1);
  decide(2, 5, 0, false, r); // a new source: nothing of the old one can be answered any more
  expect(f.incomingSequenceNumber(first)).toBe(-1);
});

test('after a server-side mute, restart() goes on with the next numbers (no gap to NACK), from a key frame for video', () => {
  const f = new Forwarder(true, 3000, 500, 10_000);
  const decide = pipeline(f);
  const r = out();
  decide(1, 100, 90_000, true, r);
  decide(1, 101, 93_000, false, r);
  expect(r).toEqual(result(501, 13_000));
  // Muted: packets 102..399 reached no down track. Unmuted: the numbering restarts where it stopped.
  f.restart();
  expect(decide(1, 400, 990_000, false, r)).toBe(DropReason.WaitingForKeyframe);
  expect(decide(1, 401, 993_000, true, r)).toBe(DropReason.None);
  expect(r).toEqual({ sequenceNumber: 502, timestamp: 16_000, newest: true });
  expect(decide(1, 402, 993_000, false, r)).toBe(DropReason.None);
  expect(r).toEqual(result(503, 16_000));
  // A packet sent while muted, arriving late, is not forwarded either.
  expect(decide(1, 150, 93_000, false, r)).toBe(DropReason.BeforeStart);
});

test('audio resumes at once after restart(), with continuous numbers', () => {
  const f = new Forwarder(false, 960, 0, 0);
  const decide = pipeline(f);
  const r = out();
  decide(7, 10, 0, false, r);
  f.restart();
  expect(decide(7, 500, 470_400, false, r)).toBe(DropReason.None);
  expect(r).toEqual({ sequenceNumber: 1, timestamp: 960, newest: true });
});
