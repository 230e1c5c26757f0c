import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeTransportFeedback, TransportFeedbackParseError } from '../../../sfu/media/transport-cc/feedback-decoder.js';
import { encodeTransportFeedback } from '../../../sfu/media/transport-cc/feedback-encoder.js';
import { NOT_RECEIVED, type TransportFeedback } from '../../../sfu/media/transport-cc/feedback-types.js';

const NR = NOT_RECEIVED;

const uint32 = fc.integer({ min: 0, max: 0xffff_ffff });
const delta = fc.oneof(
  fc.constant(NR),
  fc.integer({ min: 0, max: 255 }),
  fc.integer({ min: -0x8000, max: 0x7fff }),
);
/** Runs of one status as well as mixed ones, so every chunk type shows up. */
const deltas = fc
  .array(
    fc.oneof(
      fc.array(delta, { minLength: 1, maxLength: 40 }),
      fc.tuple(fc.constantFrom(NR, 3, 300), fc.integer({ min: 1, max: 9000 })).map(([d, n]) => Array<number>(n).fill(d)),
    ),
    { minLength: 1, maxLength: 6 },
  )
  .map((parts) => Int32Array.from(parts.flat().slice(0, 0xffff)));

const feedbackArb: fc.Arbitrary<TransportFeedback> = fc.record({
  senderSsrc: uint32,
  mediaSsrc: uint32,
  baseSequenceNumber: fc.integer({ min: 0, max: 0xffff }),
  referenceTime: fc.integer({ min: -0x80_0000, max: 0x7f_ffff }),
  feedbackPacketCount: fc.integer({ min: 0, max: 255 }),
  receiveDeltas: deltas,
});

describe('transport-cc feedback decoder', () => {
  it('decodes what the encoder writes, for any statuses and deltas (round trip)', () => {
    fc.assert(
      fc.property(feedbackArb, (feedback) => {
        const bytes = encodeTransportFeedback(feedback);
        expect(bytes.length % 4).toBe(0);
        expect((bytes.readUInt16BE(2) + 1) * 4).toBe(bytes.length);
        if (bytes[0] & 0x20) expect([1, 2, 3]).toContain(bytes[bytes.length - 1]);
        const decoded = decodeTransportFeedback(bytes);
        expect(decoded.byteLength).toBe(bytes.length);
        const { receiveDeltas, ...fields } = decoded.feedback;
        const { receiveDeltas: expectedDeltas, ...expectedFields } = feedback;
        expect(fields).toEqual(expectedFields);
        expect(sameInts(receiveDeltas, expectedDeltas)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('reads one packet of a compound RTCP packet and reports its length', () => {
    const a = encodeTransportFeedback(fbWith([1, NR, 2]));
    const b = encodeTransportFeedback(fbWith([5]));
    const decoded = decodeTransportFeedback(Buffer.concat([a, b]));
    expect(decoded.byteLength).toBe(a.length);
    expect(Array.from(decoded.feedback.receiveDeltas)).toEqual([1, NR, 2]);
    expect(Array.from(decodeTransportFeedback(Buffer.concat([a, b]).subarray(a.length)).feedback.receiveDeltas)).toEqual([5]);
  });

  it('accepts zero padding without the P bit, as drawn in the draft', () => {
    // 20 header + 2 chunk + 1 delta + 1 zero byte, length 5, P=0.
    const bytes = Buffer.from('8fcd0005' + '00000001' + '00000002' + '00070001' + '00000100' + '2001' + '0a' + '00', 'hex');
    const { feedback } = decodeTransportFeedback(bytes);
    expect(feedback.baseSequenceNumber).toBe(7);
    expect(feedback.referenceTime).toBe(1);
    expect(Array.from(feedback.receiveDeltas)).toEqual([10]);
  });

  it('rejects malformed packets with a named error', () => {
    const good = encodeTransportFeedback(fbWith([1, 2, 3]));
    const cases: [string, Buffer][] = [
      ['too short', good.subarray(0, 12)],
      ['wrong PT', patch(good, 1, 206)],
      ['wrong version', patch(good, 0, good[0] & 0x3f)],
      ['length beyond the data', good.subarray(0, good.length - 4)],
      ['bad padding count', patch(good, good.length - 1, 0xff)],
      ['zero status count', patch(patch(good, 14, 0), 15, 0)],
      ['missing deltas', patch(good, 15, 9)],
      ['reserved symbol', patch(patch(good, 20, 0xff), 21, 0xff)],
    ];
    for (const [name, bytes] of cases) {
      expect(() => decodeTransportFeedback(bytes), name).toThrow(TransportFeedbackParseError);
    }
  });
});

function fbWith(receiveDeltas: number[]): TransportFeedback {
  return {
    senderSsrc: 1,
    mediaSsrc: 2,
    baseSequenceNumber: 3,
    referenceTime: 4,
    feedbackPacketCount: 5,
    receiveDeltas: Int32Array.from(receiveDeltas),
  };
}

function sameInts(a: Int32Array, b: Int32Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

function patch(buf: Buffer, index: number, value: number): Buffer {
  const copy = Buffer.from(buf);
  copy[index] = value;
  return copy;
}
