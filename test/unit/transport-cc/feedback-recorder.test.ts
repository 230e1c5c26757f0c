import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeTransportFeedback } from '../../../sfu/media/transport-cc/feedback-decoder.js';
import { encodeTransportFeedback } from '../../../sfu/media/transport-cc/feedback-encoder.js';
import { FeedbackRecorder } from '../../../sfu/media/transport-cc/feedback-recorder.js';
import { NOT_RECEIVED, type TransportFeedback } from '../../../sfu/media/transport-cc/feedback-types.js';

const MS = 1000;
/** A clock far from zero, so reference times are realistic. */
const T0 = 1_000_000 * MS + 12_250;

/** What the publisher learns from a feedback packet: each sequence number and its arrival time (µs) or null. */
function reports(feedback: TransportFeedback): [number, number | null][] {
  let time = feedback.referenceTime * 64 * MS;
  return Array.from(feedback.receiveDeltas, (ticks, i): [number, number | null] => {
    const seq = (feedback.baseSequenceNumber + i) & 0xffff;
    if (ticks === NOT_RECEIVED) return [seq, null];
    time += ticks * 250;
    return [seq, time];
  });
}

/** Arrival times in the feedback's time base, relative to T0 and rounded to 250 µs, for readable expectations. */
function relative(feedbacks: TransportFeedback[]): [number, number | null][] {
  return feedbacks.flatMap(reports).map(([seq, t]) => [seq, t === null ? null : Math.round((t - T0) / 250) * 250]);
}

function recorder(options: Partial<ConstructorParameters<typeof FeedbackRecorder>[0]> = {}) {
  return new FeedbackRecorder({ senderSsrc: 0xabc, ...options });
}

describe('transport-cc feedback recorder', () => {
  it('reports packets received in order with their arrival times, then nothing until new packets arrive', () => {
    const r = recorder();
    for (let i = 0; i < 5; i++) r.record(100 + i, T0 + i * MS, 0x1234);
    const fbs = r.buildFeedback(T0 + 5 * MS);
    expect(fbs).toHaveLength(1);
    expect(fbs[0]).toMatchObject({ senderSsrc: 0xabc, mediaSsrc: 0x1234, baseSequenceNumber: 100, feedbackPacketCount: 0 });
    expect(relative(fbs)).toEqual([
      [100, 0],
      [101, 1000],
      [102, 2000],
      [103, 3000],
      [104, 4000],
    ]);
    expect(fbs[0].referenceTime).toBe(Math.floor(T0 / 64_000));
    expect(r.buildFeedback(T0 + 100 * MS)).toEqual([]);
    r.record(105, T0 + 101 * MS);
    const next = r.buildFeedback(T0 + 150 * MS);
    expect(next[0]).toMatchObject({ baseSequenceNumber: 105, feedbackPacketCount: 1 });
  });

  it('reports gaps as not received, including losses at the start of the next window', () => {
    const r = recorder();
    for (const seq of [0, 1, 2, 5, 6]) r.record(seq, T0 + seq * MS);
    expect(relative(r.buildFeedback(T0 + 10 * MS))).toEqual([
      [0, 0],
      [1, 1000],
      [2, 2000],
      [3, null],
      [4, null],
      [5, 5000],
      [6, 6000],
    ]);
    r.record(9, T0 + 9 * MS);
    expect(relative(r.buildFeedback(T0 + 20 * MS))).toEqual([
      [7, null],
      [8, null],
      [9, 9000],
    ]);
  });

  it('fills in reordered packets and reports negative deltas', () => {
    const r = recorder();
    r.record(10, T0);
    r.record(12, T0 + 1 * MS);
    r.record(11, T0 + 2 * MS);
    const [fb] = r.buildFeedback(T0 + 5 * MS);
    expect(relative([fb])).toEqual([
      [10, 0],
      [11, 2000],
      [12, 1000],
    ]);
    expect(fb.receiveDeltas[2]).toBe(-4); // -1 ms: a large (signed) delta
  });

  it('keeps the first arrival of a duplicate', () => {
    const r = recorder();
    r.record(1, T0);
    r.record(2, T0 + MS);
    r.record(2, T0 + 3 * MS);
    r.record(1, T0 + 4 * MS);
    expect(relative(r.buildFeedback(T0 + 5 * MS))).toEqual([
      [1, 0],
      [2, 1000],
    ]);
  });

  it('follows the 16-bit sequence number across wraparound, within and across feedback packets', () => {
    const r = recorder();
    r.record(65534, T0);
    r.record(65535, T0 + MS);
    r.record(1, T0 + 2 * MS);
    expect(relative(r.buildFeedback(T0 + 3 * MS))).toEqual([
      [65534, 0],
      [65535, 1000],
      [0, null],
      [1, 2000],
    ]);
    r.record(2, T0 + 4 * MS);
    r.record(0, T0 + 5 * MS); // late, re-reported from 0 on
    const fbs = r.buildFeedback(T0 + 6 * MS);
    expect(fbs[0].baseSequenceNumber).toBe(0);
    expect(relative(fbs)).toEqual([
      [0, 5000],
      [1, 2000],
      [2, 4000],
    ]);
  });

  it('reports a late packet again within the back window, drops one older than that', () => {
    const r = recorder({ backWindowUs: 500 * MS });
    for (const seq of [0, 1, 3]) r.record(seq, T0 + seq * MS);
    r.buildFeedback(T0 + 4 * MS); // 2 reported lost
    r.record(2, T0 + 20 * MS);
    expect(relative(r.buildFeedback(T0 + 50 * MS))).toEqual([
      [2, 20_000],
      [3, 3000],
    ]);
    r.record(4, T0 + 900 * MS);
    r.buildFeedback(T0 + 1000 * MS); // history before T0+500 ms is forgotten
    r.record(1, T0 + 1001 * MS); // too late: ignored
    expect(r.buildFeedback(T0 + 1002 * MS)).toEqual([]);
  });

  it('splits a report that would exceed the size bound, each packet within it and continuing the previous', () => {
    const r = recorder({ maxPacketBytes: 40 });
    // 100 packets 3 ms apart with every third lost: one-bit vectors and small deltas.
    for (let i = 0; i < 100; i++) if (i % 3 !== 2) r.record(i, T0 + i * 3 * MS);
    const fbs = r.buildFeedback(T0 + 400 * MS);
    expect(fbs.length).toBeGreaterThan(2);
    let next = 0;
    for (const fb of fbs) {
      expect(encodeTransportFeedback(fb).length).toBeLessThanOrEqual(40);
      expect(fb.baseSequenceNumber).toBe(next);
      next += fb.receiveDeltas.length;
    }
    expect(next).toBe(100);
    expect(fbs.map((fb) => fb.feedbackPacketCount)).toEqual(fbs.map((_, i) => i));
    const times = relative(fbs);
    for (const [seq, t] of times) expect(t).toBe(seq % 3 === 2 ? null : seq * 3 * MS);
  });

  it('starts a new packet where a receive delta does not fit 16 bits (beyond 8.19 s)', () => {
    const r = recorder();
    r.record(0, T0);
    r.record(1, T0 + 9000 * MS);
    r.record(2, T0 + 9001 * MS);
    r.record(3, T0 + 1 * MS); // reordered: -9 s from its predecessor
    const fbs = r.buildFeedback(T0 + 9002 * MS);
    expect(fbs.map((fb) => fb.baseSequenceNumber)).toEqual([0, 1, 3]);
    expect(fbs[1].referenceTime).toBe(Math.floor((T0 + 9000 * MS) / 64_000));
    expect(relative(fbs)).toEqual([
      [0, 0],
      [1, 9_000_000],
      [2, 9_001_000],
      [3, 1000],
    ]);
  });

  it('forgets a backlog longer than its history and a jump past it', () => {
    const r = recorder({ historySize: 64 });
    for (let i = 0; i < 100; i++) r.record(i, T0 + i * MS);
    const fbs = r.buildFeedback(T0 + 100 * MS);
    expect(fbs[0].baseSequenceNumber).toBe(100 - 64);
    expect(relative(fbs)).toHaveLength(64);
    r.record(1000, T0 + 200 * MS);
    const jump = r.buildFeedback(T0 + 201 * MS);
    expect(relative(jump).at(-1)).toEqual([1000, 200_000]);
    expect(relative(jump).slice(0, -1).every(([, t]) => t === null)).toBe(true);
  });

  it('reports every packet with its arrival time within 125 µs, for any arrival order, loss and duplication', () => {
    const arrivals = fc
      .array(fc.record({ seqStep: fc.integer({ min: -5, max: 8 }), gapUs: fc.integer({ min: 0, max: 40_000 }), dup: fc.boolean() }), {
        minLength: 1,
        maxLength: 300,
      })
      .chain((steps) => fc.tuple(fc.constant(steps), fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 1, max: 30 })));
    fc.assert(
      fc.property(arrivals, ([steps, firstSeq, buildEvery]) => {
        const r = recorder({ maxPacketBytes: 100 });
        const firstArrival = new Map<number, number>();
        const reported = new Map<number, number | null>();
        let seq = firstSeq;
        let unwrapped = 0;
        let maxUnwrapped = -1;
        const newest = new Set<number>();
        let now = T0;
        const collect = () => {
          for (const fb of r.buildFeedback(now)) {
            const bytes = encodeTransportFeedback(fb);
            expect(bytes.length).toBeLessThanOrEqual(100);
            for (const [s, t] of reports(decodeTransportFeedback(bytes).feedback)) {
              if (t !== null || !reported.has(s)) reported.set(s, t);
            }
          }
        };
        steps.forEach((step, i) => {
          seq = (seq + step.seqStep + 0x10000) & 0xffff;
          unwrapped += step.seqStep;
          if (unwrapped > maxUnwrapped) {
            maxUnwrapped = unwrapped;
            newest.add(seq);
          }
          now += step.gapUs;
          const times = step.dup ? 2 : 1;
          for (let k = 0; k < times; k++) {
            r.record(seq, now);
            if (!firstArrival.has(seq)) firstArrival.set(seq, now);
          }
          if (i % buildEvery === 0) collect();
        });
        collect();
        // Every packet reported received was received, at the time it arrived (to the 250 µs grid).
        for (const [s, t] of reported) {
          if (t === null) continue;
          expect(firstArrival.has(s)).toBe(true);
          expect(Math.abs(t - firstArrival.get(s)!)).toBeLessThanOrEqual(125);
        }
        // A packet newer than all before it is always reported received.
        for (const s of newest) expect(Math.abs(reported.get(s)! - firstArrival.get(s)!)).toBeLessThanOrEqual(125);
      }),
      { numRuns: 200 },
    );
  });
});
