import { describe, expect, it } from 'vitest';
import { encodeTransportFeedback } from '../../../sfu/media/transport-cc/feedback-encoder.js';
import { NOT_RECEIVED, type TransportFeedback } from '../../../sfu/media/transport-cc/feedback-types.js';
import { PacketChunkWriter } from '../../../sfu/media/transport-cc/packet-chunks.js';

const NR = NOT_RECEIVED;

function feedback(receiveDeltas: number[], overrides: Partial<TransportFeedback> = {}): TransportFeedback {
  return {
    senderSsrc: 0x01020304,
    mediaSsrc: 0x05060708,
    baseSequenceNumber: 100,
    referenceTime: 0x123456,
    feedbackPacketCount: 7,
    receiveDeltas: Int32Array.from(receiveDeltas),
    ...overrides,
  };
}

const hex = (buf: Uint8Array) => Buffer.from(buf).toString('hex');
const chunksOf = (symbols: number[]) => {
  const writer = new PacketChunkWriter();
  for (const s of symbols) writer.add(s as 0 | 1 | 2);
  return writer.finish().map((c) => c.toString(16).padStart(4, '0'));
};

// Vectors computed by hand from draft-holmer-rmcat-transport-wide-cc-extensions-01 §3.1.
describe('transport-cc feedback encoder', () => {
  it('writes the header, a run length chunk and small deltas with no padding when 32-bit aligned', () => {
    // 2 packets received 1 ms and 2 ms after the reference time: run length chunk |0|01|2| = 0x2002.
    const bytes = encodeTransportFeedback(feedback([4, 8]));
    expect(hex(bytes)).toBe(
      '8fcd0005' + // V=2 P=0 FMT=15, PT=205, length 5 words (24 bytes)
        '01020304' + // sender SSRC
        '05060708' + // media SSRC
        '00640002' + // base 100, status count 2
        '12345607' + // reference time 0x123456 (x 64 ms), fb pkt count 7
        '2002' + // run length chunk: 2 x small delta
        '0408', // deltas 1 ms, 2 ms in 250 us ticks
    );
  });

  it('pads to 32 bits with the P bit and the pad count in the last byte, length counting the padding', () => {
    const bytes = encodeTransportFeedback(feedback([4]));
    expect(bytes.length).toBe(24);
    expect(bytes[0]).toBe(0xaf); // P bit set
    expect(bytes.readUInt16BE(2)).toBe(5);
    expect(hex(bytes.subarray(20))).toBe('2001' + '04' + '01');
  });

  it('uses a two-bit status vector for lost, negative and large deltas', () => {
    // symbols 01 00 10 10 -> |1|1|01 00 10 10 00 00 00| = 0xd280; deltas 1, -4 (0xfffc), 300 (0x012c).
    const bytes = encodeTransportFeedback(feedback([1, NR, -4, 300]));
    expect(bytes.length).toBe(28);
    expect(bytes.readUInt16BE(2)).toBe(6);
    expect(bytes.readUInt16BE(14)).toBe(4);
    expect(hex(bytes.subarray(20))).toBe('d280' + '01' + 'fffc' + '012c' + '01');
  });

  it('uses a one-bit status vector for more than 7 mixed small/lost statuses', () => {
    // 1 0 1 1 0 0 0 0 0 1 -> |1|0|10110000 01 0000| = 0xac10
    const bytes = encodeTransportFeedback(feedback([1, NR, 2, 3, NR, NR, NR, NR, NR, 4]));
    expect(bytes.length).toBe(28);
    expect(bytes[0]).toBe(0xaf);
    expect(hex(bytes.subarray(20))).toBe('ac10' + '01020304' + '0002');
  });

  it('encodes a loss run as a run length chunk, then the received packet', () => {
    const deltas = [...Array(20).fill(NR), 9];
    const bytes = encodeTransportFeedback(feedback(deltas, { baseSequenceNumber: 65530 }));
    expect(bytes.readUInt16BE(12)).toBe(65530);
    expect(bytes.readUInt16BE(14)).toBe(21);
    expect(hex(bytes.subarray(20))).toBe('0014' + '2001' + '09' + '000003');
  });

  it('writes a negative reference time as 24-bit two complement and wraps the feedback count', () => {
    const bytes = encodeTransportFeedback(feedback([0], { referenceTime: -1, feedbackPacketCount: 256 + 3 }));
    expect(hex(bytes.subarray(16, 20))).toBe('ffffff03');
  });

  it('chooses chunks like libwebrtc: 7 two-bit symbols then the rest, runs up to 8191', () => {
    expect(chunksOf([2, 1, 1, 1, 1, 1, 1, 1])).toEqual(['e555', '2001']);
    expect(chunksOf(Array(8200).fill(1))).toEqual(['3fff', '2009']);
    expect(chunksOf([...Array(14).fill(0), 1])).toEqual(['000e', '2001']);
    // 14 mixed small/lost symbols fill one one-bit vector exactly.
    expect(chunksOf([1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1])).toEqual(['aaaa', '2001']);
    // A large delta after a run of 8 small ones ends the run.
    expect(chunksOf([1, 1, 1, 1, 1, 1, 1, 1, 2])).toEqual(['2008', '4001']);
  });

  it('rejects what the format cannot carry', () => {
    expect(() => encodeTransportFeedback(feedback([]))).toThrow(RangeError);
    expect(() => encodeTransportFeedback(feedback([40_000]))).toThrow(RangeError);
    expect(() => encodeTransportFeedback(feedback(Array(65_536).fill(NR)))).toThrow(RangeError);
  });
});
