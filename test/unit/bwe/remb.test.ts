import { expect, test } from 'vitest';
import { RtcpPacketConverter, RtcpPayloadSpecificFeedback, PictureLossIndication } from 'werift';
import { rembBitrate } from '../../../sfu/bwe/remb.js';

/** A REMB as Chromium sends it (draft-alvestrand-rmcat-remb-03 §2.2): PSFB FMT 15, "REMB", exponent and mantissa. */
function remb(bitrate: number, ssrcs: number[], identifier = 'REMB'): Buffer {
  let exp = 0;
  while (bitrate >= 2 ** (18 + exp)) exp++;
  const mantissa = Math.floor(bitrate / 2 ** exp);
  const body = Buffer.alloc(16 + 4 * ssrcs.length);
  body.writeUInt32BE(0x11223344, 0); // sender SSRC; media SSRC stays 0
  body.write(identifier, 8, 'ascii');
  body[12] = ssrcs.length;
  body[13] = (exp << 2) | (mantissa >> 16);
  body.writeUInt16BE(mantissa & 0xffff, 14);
  ssrcs.forEach((ssrc, i) => body.writeUInt32BE(ssrc >>> 0, 16 + 4 * i));
  const header = Buffer.from([0x80 | 15, 206, 0, 0]);
  header.writeUInt16BE(body.length / 4, 2);
  return Buffer.concat([header, body]);
}

const parse = (wire: Buffer) => RtcpPacketConverter.deSerialize(wire)[0];

test('reads the bitrate of a REMB, whatever SSRCs it lists', () => {
  expect(rembBitrate(parse(remb(600_000, [0x0a0b0c0d, 0x01020304])))).toBe(600_000);
  expect(rembBitrate(parse(remb(2_500_000, [7])))).toBe(2_500_000);
  expect(rembBitrate(parse(remb(30_000, [])))).toBe(30_000);
  // 18-bit mantissa: the low bits of a large value are lost on the wire.
  expect(rembBitrate(parse(remb(123_456_789, [1, 2, 3])))).toBe(123_456_512);
});

test('other application-layer feedback and other RTCP are not estimates', () => {
  expect(rembBitrate(parse(remb(600_000, [5], 'XXXX')))).toBeUndefined();
  const pli = new RtcpPayloadSpecificFeedback({ feedback: new PictureLossIndication({ senderSsrc: 1, mediaSsrc: 2 }) });
  expect(rembBitrate(parse(pli.serialize()))).toBeUndefined();
});
