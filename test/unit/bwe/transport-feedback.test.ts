import { expect, test } from 'vitest';
import { RtcpRrPacket } from 'werift';
import { readTransportFeedback } from '../../../sfu/bwe/transport-feedback.js';
import { encodeTransportFeedback } from '../../../sfu/media/transport-cc/feedback-encoder.js';
import { NOT_RECEIVED, type TransportFeedback } from '../../../sfu/media/transport-cc/feedback-types.js';

const feedback = (base: number): TransportFeedback => ({
  senderSsrc: 1,
  mediaSsrc: 2,
  baseSequenceNumber: base,
  referenceTime: 100,
  feedbackPacketCount: 3,
  receiveDeltas: Int32Array.from([4, NOT_RECEIVED, 8]),
});

test('a compound of transport-wide feedback only is read whole and kept from werift', () => {
  const seen: TransportFeedback[] = [];
  const compound = Buffer.concat([encodeTransportFeedback(feedback(10)), encodeTransportFeedback(feedback(13))]);
  expect(readTransportFeedback(compound, (f) => seen.push(f))).toBe(true);
  expect(seen.map((f) => [f.baseSequenceNumber, [...f.receiveDeltas]])).toEqual([
    [10, [4, NOT_RECEIVED, 8]],
    [13, [4, NOT_RECEIVED, 8]],
  ]);
});

test('feedback beside other RTCP is read, and the compound left to werift for the rest', () => {
  const seen: number[] = [];
  const compound = Buffer.concat([new RtcpRrPacket({ ssrc: 5, reports: [] }).serialize(), encodeTransportFeedback(feedback(7))]);
  expect(readTransportFeedback(compound, (f) => seen.push(f.baseSequenceNumber))).toBe(false);
  expect(seen).toEqual([7]);
});

test('malformed or truncated feedback is left to werift (which drops it); nothing throws', () => {
  const good = encodeTransportFeedback(feedback(1));
  const seen: number[] = [];
  expect(readTransportFeedback(good.subarray(0, good.length - 4), () => seen.push(1))).toBe(false);
  const badCount = Buffer.from(good);
  badCount.writeUInt16BE(0, 14); // packet status count 0
  expect(readTransportFeedback(badCount, () => seen.push(1))).toBe(false);
  expect(readTransportFeedback(Buffer.alloc(3), () => seen.push(1))).toBe(false);
  expect(seen).toEqual([]);
});
