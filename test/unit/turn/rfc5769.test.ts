// RFC 5769 "Test Vectors for STUN": MESSAGE-INTEGRITY and FINGERPRINT must verify on the
// RFC's own bytes, and our encoder must reproduce them byte for byte.
import { describe, expect, it } from 'vitest';
import { decodeStunMessage, findAttribute } from '../../../turn/stun/message.js';
import { decodeText, decodeXorAddress, encodeXorAddress } from '../../../turn/stun/attributes.js';
import { fingerprintValid, longTermKey, verifyIntegrity } from '../../../turn/stun/integrity.js';
import { MessageBuilder } from '../../../turn/stun/builder.js';
import { Attr } from '../../../turn/stun/constants.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

// RFC 5769 §2.1
const sampleRequest = hex(`
  00 01 00 58 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae
  80 22 00 10 53 54 55 4e 20 74 65 73 74 20 63 6c 69 65 6e 74
  00 24 00 04 6e 00 01 ff
  80 29 00 08 93 2f f9 b1 51 26 3b 36
  00 06 00 09 65 76 74 6a 3a 68 36 76 59 20 20 20
  00 08 00 14 9a ea a7 0c bf d8 cb 56 78 1e f2 b5 b2 d3 f2 49 c1 b5 71 a2
  80 28 00 04 e5 7a 3b cf`);
const shortTermPassword = 'VOkJxbRl1RmTxUk/WvJxBt';

// RFC 5769 §2.2
const ipv4Response = hex(`
  01 01 00 3c 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae
  80 22 00 0b 74 65 73 74 20 76 65 63 74 6f 72 20
  00 20 00 08 00 01 a1 47 e1 12 a6 43
  00 08 00 14 2b 91 f5 99 fd 9e 90 c3 8c 74 89 f9 2a f9 ba 53 f0 6b e7 d7
  80 28 00 04 c0 7d 4c 96`);

// RFC 5769 §2.3
const ipv6Response = hex(`
  01 01 00 48 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae
  80 22 00 0b 74 65 73 74 20 76 65 63 74 6f 72 20
  00 20 00 14 00 02 a1 47 01 13 a9 fa a5 d3 f1 79 bc 25 f4 b5 be d2 b9 d9
  00 08 00 14 a3 82 95 4e 4b e6 7b f1 17 84 c9 7c 82 92 c2 75 bf e3 ed 41
  80 28 00 04 c8 fb 0b 4c`);

// RFC 5769 §2.4 (username "マトリックス", password "The<U+00AD>M<U+00AA>tr<U+2168>" -> SASLprep "TheMatrIX")
const longTermRequest = hex(`
  00 01 00 60 21 12 a4 42 78 ad 34 33 c6 ad 72 c0 29 da 41 2e
  00 06 00 12 e3 83 9e e3 83 88 e3 83 aa e3 83 83 e3 82 af e3 82 b9 00 00
  00 15 00 1c 66 2f 2f 34 39 39 6b 39 35 34 64 36 4f 4c 33 34 6f 4c 39 46 53 54 76 79 36 34 73 41
  00 14 00 0b 65 78 61 6d 70 6c 65 2e 6f 72 67 00
  00 08 00 14 f6 70 24 65 6d d6 4a 3e 02 b8 e0 71 2e 85 c9 a2 8c a8 96 66`);

describe('RFC 5769 test vectors', () => {
  it('sample request: integrity verifies with the short-term password and the fingerprint is valid', () => {
    const msg = decodeStunMessage(sampleRequest);
    expect(msg).not.toBeNull();
    expect(fingerprintValid(msg!)).toBe(true);
    expect(verifyIntegrity(msg!, Buffer.from(shortTermPassword))).toBe(true);
    expect(verifyIntegrity(msg!, Buffer.from('wrong'))).toBe(false);
    expect(decodeText(msg!, findAttribute(msg!, Attr.Username)!, 513)).toBe('evtj:h6vY');
  });

  it('a one-bit change breaks the fingerprint', () => {
    const copy = Buffer.from(sampleRequest);
    copy[30] ^= 1;
    expect(fingerprintValid(decodeStunMessage(copy)!)).toBe(false);
  });

  it('IPv4 response: decodes 192.0.2.1:32853 and verifies', () => {
    const msg = decodeStunMessage(ipv4Response)!;
    expect(fingerprintValid(msg)).toBe(true);
    expect(verifyIntegrity(msg, Buffer.from(shortTermPassword))).toBe(true);
    expect(decodeXorAddress(msg, findAttribute(msg, Attr.XorMappedAddress)!)).toEqual({
      family: 4,
      address: '192.0.2.1',
      port: 32853,
    });
  });

  it('IPv6 response: decodes 2001:db8:1234:5678:11:2233:4455:6677 port 32853 and verifies', () => {
    const msg = decodeStunMessage(ipv6Response)!;
    expect(fingerprintValid(msg)).toBe(true);
    expect(verifyIntegrity(msg, Buffer.from(shortTermPassword))).toBe(true);
    expect(decodeXorAddress(msg, findAttribute(msg, Attr.XorMappedAddress)!)).toEqual({
      family: 6,
      address: '2001:db8:1234:5678:11:2233:4455:6677',
      port: 32853,
    });
  });

  it('our encoder reproduces the RFC responses up to the padding, and its output verifies', () => {
    for (const [vector, address, family] of [
      [ipv4Response, '192.0.2.1', 4],
      [ipv6Response, '2001:db8:1234:5678:11:2233:4455:6677', 6],
    ] as const) {
      const tid = vector.subarray(8, 20);
      const built = new MessageBuilder(0x0101, tid)
        .addText(Attr.Software, 'test vector')
        .add(Attr.XorMappedAddress, encodeXorAddress({ family, address, port: 32853 }, tid))
        .finish({ integrityKey: Buffer.from(shortTermPassword), fingerprint: true });
      // The RFC pads SOFTWARE with a space; we pad with zero (RFC 8489 §14), which changes the MACs
      // but nothing else: header, SOFTWARE text and the XOR-MAPPED-ADDRESS attribute are identical.
      expect(built.length).toBe(vector.length);
      expect(built.subarray(0, 35).equals(vector.subarray(0, 35))).toBe(true);
      const xorEnd = family === 4 ? 48 : 60;
      expect(built.subarray(36, xorEnd).equals(vector.subarray(36, xorEnd))).toBe(true);
      const msg = decodeStunMessage(built)!;
      expect(fingerprintValid(msg)).toBe(true);
      expect(verifyIntegrity(msg, Buffer.from(shortTermPassword))).toBe(true);
    }
  });

  it('long-term request: MD5(username:realm:password) key verifies the integrity', () => {
    const msg = decodeStunMessage(longTermRequest)!;
    const username = decodeText(msg, findAttribute(msg, Attr.Username)!, 513)!;
    const realm = decodeText(msg, findAttribute(msg, Attr.Realm)!, 763)!;
    expect(username).toBe('マトリックス');
    expect(realm).toBe('example.org');
    expect(decodeText(msg, findAttribute(msg, Attr.Nonce)!, 763)).toBe('f//499k954d6OL34oL9FSTvy64sA');
    expect(verifyIntegrity(msg, longTermKey(username, realm, 'TheMatrIX'))).toBe(true);
    expect(verifyIntegrity(msg, longTermKey(username, realm, 'TheMatrix'))).toBe(false);
  });
});
