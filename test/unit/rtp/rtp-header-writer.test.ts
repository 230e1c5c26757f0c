import { expect, test } from 'vitest';
import { RtpHeader, RtpPacket, ExtensionProfiles } from 'werift';
import { RtpHeaderWriter } from '../../../sfu/media/rtp/rtp-header-writer.js';

function weriftBytes(fields: { payloadType: number; sequenceNumber: number; timestamp: number; ssrc: number; marker: boolean }, extensions: { id: number; payload: Buffer }[], profile: (typeof ExtensionProfiles)[keyof typeof ExtensionProfiles] = ExtensionProfiles.OneByte): Buffer {
  const header = new RtpHeader({ ...fields, extensionProfile: profile, extensions });
  return header.serialize(header.serializeSize);
}

const fields = { payloadType: 96, sequenceNumber: 0xabcd, timestamp: 0xdeadbeef, ssrc: 0x01020304, marker: true };

test('a header without extensions is the 12 fixed bytes werift writes', () => {
  const writer = new RtpHeaderWriter().reset(fields.payloadType, fields.sequenceNumber, fields.timestamp, fields.ssrc, fields.marker);
  const out = Buffer.alloc(writer.size);
  expect(writer.write(out)).toBe(12);
  expect(out.equals(weriftBytes(fields, []))).toBe(true);
});

test('one-byte extensions (mid, transport-cc, abs-send-time, audio level) serialize like werift, padded to 32 bits', () => {
  const writer = new RtpHeaderWriter().reset(fields.payloadType, fields.sequenceNumber, fields.timestamp, fields.ssrc, fields.marker);
  writer.addBytes(1, Buffer.from('12'));
  writer.addUint(3, 0x0102, 2);
  writer.addUint(4, 0xa1b2c3, 3);
  writer.addBytes(10, Buffer.from([0x85]));
  const out = Buffer.alloc(writer.size);
  writer.write(out);
  const expected = weriftBytes(fields, [
    { id: 1, payload: Buffer.from('12') },
    { id: 3, payload: Buffer.from([1, 2]) },
    { id: 4, payload: Buffer.from([0xa1, 0xb2, 0xc3]) },
    { id: 10, payload: Buffer.from([0x85]) },
  ]);
  expect(out.equals(expected)).toBe(true);
  const parsed = RtpPacket.deSerialize(Buffer.concat([out, Buffer.from([9, 9])])).header;
  expect(parsed.extensions.map((e) => e.id)).toEqual([1, 3, 4, 10]);
  expect(parsed.sequenceNumber).toBe(0xabcd);
  expect(parsed.marker).toBe(true);
});

test('an id above 14 or a value over 16 bytes switches to the two-byte form', () => {
  const writer = new RtpHeaderWriter().reset(111, 1, 2, 3, false);
  writer.addBytes(1, Buffer.from('a'));
  writer.addBytes(15, Buffer.from('bcd'));
  const out = Buffer.alloc(writer.size);
  writer.write(out);
  expect(out.equals(weriftBytes({ payloadType: 111, sequenceNumber: 1, timestamp: 2, ssrc: 3, marker: false }, [
    { id: 1, payload: Buffer.from('a') },
    { id: 15, payload: Buffer.from('bcd') },
  ], ExtensionProfiles.TwoByte))).toBe(true);
});

test('reset drops the previous extensions; values are copied when added', () => {
  const writer = new RtpHeaderWriter().reset(96, 1, 1, 1, false);
  const value = Buffer.from([7]);
  writer.addBytes(2, value);
  value[0] = 8;
  const out = Buffer.alloc(writer.size);
  writer.write(out);
  expect(out[17]).toBe(7);
  writer.reset(96, 2, 2, 2, false);
  expect(writer.size).toBe(12);
  expect(writer.extensionCount).toBe(0);
});

test('ignores id 0 and empty values', () => {
  const writer = new RtpHeaderWriter().reset(96, 1, 1, 1, false);
  writer.addBytes(0, Buffer.from([1]));
  writer.addBytes(3, Buffer.alloc(0));
  expect(writer.extensionCount).toBe(0);
});
