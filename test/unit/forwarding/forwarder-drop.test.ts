import fc from 'fast-check';
import { expect, test } from 'vitest';
import { DropReason, Forwarder, type ForwardResult } from '../../../sfu/media/forwarder.js';
import { Arrival, RtpUnwrapper } from '../../../sfu/media/rtp/rtp-unwrapper.js';

/**
 * Packets the down track hands back after the Forwarder accepted them (VP8 frames above the temporal layer allowed):
 * the numbers sent stay gap-free, late and retransmitted packets keep their places, NACKs find their packets.
 */
const out = (): ForwardResult => ({ sequenceNumber: -1, timestamp: -1, newest: false });

/** A down track's view: 16-bit numbers in through the edge unwrapper; `dropped` hands the packet back. */
function pipeline(f: Forwarder) {
  const unwrapper = new RtpUnwrapper();
  const r = out();
  return (seq: number, options: { keyframe?: boolean; dropped?: boolean; withGap?: boolean } = {}): number | DropReason | 'duplicate' => {
    // The published track discards duplicates before any down track sees them.
    if (unwrapper.unwrap(1, seq, seq * 10) >= Arrival.Duplicate) return 'duplicate';
    const extended = unwrapper.sequenceNumber;
    const reason = f.decide(1, extended, unwrapper.timestamp, options.keyframe ?? false, r);
    if (reason !== DropReason.None) return reason;
    if (options.dropped) {
      f.drop(extended, options.withGap);
      return -1;
    }
    return r.sequenceNumber;
  };
}

test('dropped packets give their numbers to the next ones: the subscriber sees no gap', () => {
  const f = new Forwarder(true, 3000, 1000, 0);
  const send = pipeline(f);
  expect(send(10, { keyframe: true })).toBe(1000);
  expect(send(11)).toBe(1001);
  expect(send(12, { dropped: true })).toBe(-1);
  expect(send(13, { dropped: true })).toBe(-1);
  expect(send(14)).toBe(1002);
  expect(send(15, { dropped: true })).toBe(-1);
  expect(send(16)).toBe(1003);
  expect(send(17)).toBe(1004);
});

test('late packets keep the places their ranges gave them; late packets of a dropped range are dropped', () => {
  const f = new Forwarder(true, 3000, 0, 0);
  const send = pipeline(f);
  send(100, { keyframe: true }); // 0
  // 101 is late; 102-103 are a dropped frame; 104 forwarded; 105 late; 106 dropped; 107 forwarded.
  expect(send(102, { dropped: true })).toBe(-1);
  expect(send(103, { dropped: true })).toBe(-1);
  expect(send(104)).toBe(2);
  expect(send(106, { dropped: true })).toBe(-1);
  expect(send(107)).toBe(4);
  expect(send(101)).toBe(1);
  expect(send(105)).toBe(3);
  // A packet seen already never reaches a down track again; one from before the start is not sent.
  expect(send(103)).toBe('duplicate');
  expect(send(99)).toBe(DropReason.BeforeStart);
});

test('a loss inside a dropped frame: the missing packets give up their numbers too, and are dropped when they come', () => {
  const f = new Forwarder(true, 3000, 50, 0);
  const send = pipeline(f);
  send(10, { keyframe: true }); // 50
  expect(send(11, { dropped: true })).toBe(-1);
  // 12 and 13 lost (same frame as 11 and 14, which the VP8 munger knows from their PictureID).
  expect(send(14, { dropped: true, withGap: true })).toBe(-1);
  expect(send(15)).toBe(51);
  expect(send(12)).toBe(DropReason.Dropped);
  expect(send(13)).toBe(DropReason.Dropped);
  // Without that knowledge, a loss keeps its place: it may belong to a frame that is sent.
  expect(send(17, { dropped: true })).toBe(-1);
  expect(send(18)).toBe(53);
  expect(send(16)).toBe(52);
});

test('a NACK finds the incoming packet behind each number across drops and the 16-bit wrap', () => {
  const f = new Forwarder(true, 3000, 65_530, 0);
  const send = pipeline(f);
  const sent = new Map<number, number>();
  for (let i = 0; i < 40; i++) {
    const seq = (65_520 + i) & 0xffff;
    const outgoing = send(seq, { keyframe: i === 0, dropped: i % 4 === 1 || i % 4 === 3 });
    if (typeof outgoing === 'number' && outgoing >= 0) sent.set(outgoing, seq);
  }
  expect(sent.size).toBe(20);
  for (const [outgoing, incoming] of sent) expect(f.incomingSequenceNumber(outgoing)).toBe(incoming);
  // Numbers not sent yet, or from before the start.
  expect(f.incomingSequenceNumber((65_530 + 20) & 0xffff)).toBe(-1);
  expect(f.incomingSequenceNumber(65_529)).toBe(-1);
});

test('a late packet older than every range remembered is dropped, never misnumbered', () => {
  const f = new Forwarder(true, 3000, 0, 0);
  const send = pipeline(f);
  send(0, { keyframe: true });
  // 1 is late; then 300 drops, each after a forwarded packet: far more ranges than are kept.
  let seq = 2;
  for (let i = 0; i < 300; i++) {
    send(seq++);
    send(seq++, { dropped: true });
  }
  // Number 1 is kept for the late packet: the 300 forwarded took 2-301.
  expect(send(seq)).toBe(302);
  expect(send(1)).toBe(DropReason.BeforeStart);
  expect(f.incomingSequenceNumber(1)).toBe(-1);
  // Recent ones are still found.
  expect(f.incomingSequenceNumber(301)).toBe(seq - 2);
});

test('property: drops, loss and reordering over 16-bit wraps: what is sent is gap-free but for losses, and NACKs map back', () => {
  fc.assert(
    fc.property(
      fc.record({
        seed: fc.integer(),
        firstSeq: fc.integer({ min: 0, max: 0xffff }),
        initialSeq: fc.integer({ min: 0, max: 0xffff }),
        dropEvery: fc.integer({ min: 2, max: 6 }),
        packetsPerFrame: fc.integer({ min: 1, max: 4 }),
        loss: fc.double({ min: 0, max: 0.05, noNaN: true }),
        reorder: fc.double({ min: 0, max: 0.1, noNaN: true }),
      }),
      ({ seed, firstSeq, initialSeq, dropEvery, packetsPerFrame, loss, reorder }) => {
        let state = seed >>> 0;
        const next = () => ((state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0) / 0x1_0000_0000);
        // More than 65,536: every run wraps the 16-bit numbers at least once, wherever it starts.
        const total = 70_000;
        // Frames of packetsPerFrame packets; only every dropEvery-th frame is sent (a subscriber held to a low temporal layer).
        const droppedFrame = (frame: number) => frame > 0 && frame % dropEvery !== 0;
        const order: number[] = [];
        const delayed: { index: number; at: number }[] = [];
        for (let index = 0; index < total; index++) {
          if (index > 0 && next() < loss) continue;
          if (index > 0 && next() < reorder) delayed.push({ index, at: index + 1 + Math.floor(next() * 20) });
          else order.push(index);
          while (delayed.length > 0 && delayed[0].at <= index) order.push(delayed.shift()!.index);
        }
        order.push(...delayed.map((d) => d.index));
        const f = new Forwarder(true, 3000, initialSeq, 0);
        const unwrapper = new RtpUnwrapper();
        const r = out();
        const outgoingOf = new Map<number, number>();
        let extendedOut = initialSeq;
        const frameFate = new Map<number, boolean>();
        let lastDecided = -1;
        const late = new Set<number>();
        for (const index of order) {
          if (index < lastDecided) late.add(index);
          unwrapper.unwrap(1, (firstSeq + index) & 0xffff, index);
          const frame = Math.floor(index / packetsPerFrame);
          const reason = f.decide(1, unwrapper.sequenceNumber, unwrapper.timestamp, index === 0, r);
          if (reason !== DropReason.None) {
            expect(droppedFrame(frame) || index < lastDecided - 3000).toBe(true);
            continue;
          }
          if (droppedFrame(frame)) {
            // The VP8 munger's knowledge: the newest packet decided before was of this same dropped frame.
            const sameFrame = frameFate.get(frame) === false && lastDecided >= 0 && Math.floor(lastDecided / packetsPerFrame) === frame;
            f.drop(unwrapper.sequenceNumber, sameFrame);
            frameFate.set(frame, false);
          } else {
            frameFate.set(frame, true);
            // Unwrapped against the last one: the test's own extended view of the numbers sent.
            extendedOut += (((r.sequenceNumber - extendedOut) << 16) >> 16);
            outgoingOf.set(index, extendedOut);
          }
          lastDecided = Math.max(lastDecided, index);
        }
        // Every forwarded packet has its own number; forwarded in index order they count up by one, except
        // where packets were lost, or of a dropped frame but late (their places were kept).
        const forwarded = [...outgoingOf].sort((a, b) => a[0] - b[0]);
        const sentIndexes = new Set(order);
        for (let i = 1; i < forwarded.length; i++) {
          const [prevIndex, prevOut] = forwarded[i - 1];
          const [index, outgoing] = forwarded[i];
          let between = 0;
          for (let k = prevIndex + 1; k < index; k++) {
            if (!droppedFrame(Math.floor(k / packetsPerFrame)) || !sentIndexes.has(k) || late.has(k)) between++;
          }
          expect(outgoing - prevOut).toBeGreaterThanOrEqual(1);
          expect(outgoing - prevOut).toBeLessThanOrEqual(between + 1);
          if (between === 0) expect(outgoing - prevOut).toBe(1);
        }
        // NACKs for the last 40 numbers (the history holds at least 64 drops) map back to their packets.
        for (const [index, outgoing] of forwarded.slice(-40)) {
          expect(f.incomingSequenceNumber(outgoing & 0xffff)).toBe((firstSeq + index) & 0xffff);
        }
      },
    ),
    { numRuns: 10, endOnFailure: true, examples: [[{ seed: 913692967, firstSeq: 0, initialSeq: 0, dropEvery: 2, packetsPerFrame: 1, loss: 0, reorder: 0.0667604256886989 }]] },
  );
  // Eleven runs of 70,000 packets: ~8 s on an idle core, more on a busy shared machine.
}, 60_000);
