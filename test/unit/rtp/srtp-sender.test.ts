import { randomBytes } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { RtpHeader, SrtpSession } from 'werift';
import { SRTP_AEAD_AES_128_GCM, SRTP_AES128_CM_HMAC_SHA1_80, SrtpSender } from '../../../sfu/media/rtp/srtp-sender.js';

/** A werift SRTP session pair (sender side and receiver side) and our sender on the sender's derived keys. */
function sessions(profile: number) {
  const masterKey = randomBytes(16);
  const masterSalt = randomBytes(profile === SRTP_AEAD_AES_128_GCM ? 12 : 14);
  const otherKey = randomBytes(16);
  const otherSalt = randomBytes(masterSalt.length);
  const werift = new SrtpSession({ keys: { localMasterKey: masterKey, localMasterSalt: masterSalt, remoteMasterKey: otherKey, remoteMasterSalt: otherSalt }, profile: profile as never });
  const receiver = new SrtpSession({ keys: { localMasterKey: otherKey, localMasterSalt: otherSalt, remoteMasterKey: masterKey, remoteMasterSalt: masterSalt }, profile: profile as never });
  const context = werift.localContext;
  const ours = new SrtpSender({ profile, key: context.srtpSessionKey, salt: context.srtpSessionSalt, authKey: context.srtpSessionAuthTag });
  return { werift, receiver, ours };
}

function header(sequenceNumber: number, ssrc = 0x11223344, withExtensions = true): RtpHeader {
  return new RtpHeader({
    payloadType: 96,
    sequenceNumber,
    timestamp: 0xfedcba98,
    ssrc,
    marker: sequenceNumber % 3 === 0,
    extensionProfile: 0xbede,
    extensions: withExtensions ? [{ id: 1, payload: Buffer.from('0') }, { id: 3, payload: Buffer.from([sequenceNumber >> 8, sequenceNumber & 0xff]) }] : [],
  });
}

/** Protects with our sender: header serialized by werift, payload copied after it, tag room at the end. */
function protect(ours: SrtpSender, h: RtpHeader, payload: Buffer): Buffer {
  const head = h.serialize(h.serializeSize);
  const packet = Buffer.alloc(head.length + payload.length + ours.tagLength);
  head.copy(packet);
  payload.copy(packet, head.length);
  const length = ours.protect(packet, head.length, payload.length);
  return packet.subarray(0, length);
}

const profiles = [
  ['AES_CM_128_HMAC_SHA1_80', SRTP_AES128_CM_HMAC_SHA1_80],
  ['AEAD_AES_128_GCM', SRTP_AEAD_AES_128_GCM],
] as const;

describe.each(profiles)('SrtpSender with %s', (_name, profile) => {
  test('protects packets byte for byte like werift, for payloads of every length up to 1200', () => {
    const { werift, ours } = sessions(profile);
    for (let i = 0; i < 1201; i += i < 40 ? 1 : 37) {
      const payload = randomBytes(i);
      const seq = 1000 + i;
      expect(protect(ours, header(seq), payload).equals(werift.encrypt(payload, header(seq)))).toBe(true);
    }
  });

  test('matches werift across a sequence-number wrap: the rollover counter increments', () => {
    const { werift, ours } = sessions(profile);
    const payload = randomBytes(300);
    for (let n = 0; n < 40; n++) {
      const seq = (65_520 + n) & 0xffff;
      expect(protect(ours, header(seq), payload).equals(werift.encrypt(payload, header(seq)))).toBe(true);
    }
    expect(ours.rolloverCounter(0x11223344)).toBe(1);
  });

  test('a packet reordered across the wrap keeps the old rollover counter, and werift agrees', () => {
    const { werift, ours } = sessions(profile);
    const payload = randomBytes(100);
    for (const seq of [65_533, 65_534, 0, 1, 65_535, 2, 3]) {
      expect(protect(ours, header(seq), payload).equals(werift.encrypt(payload, header(seq)))).toBe(true);
    }
    expect(ours.rolloverCounter(0x11223344)).toBe(1);
  });

  test('keeps a rollover counter per SSRC', () => {
    const { werift, ours } = sessions(profile);
    const payload = randomBytes(64);
    const order: [number, number][] = [[65_535, 1], [0, 1], [40_000, 2], [40_001, 2], [1, 1]];
    for (const [seq, ssrc] of order) {
      expect(protect(ours, header(seq, ssrc), payload).equals(werift.encrypt(payload, header(seq, ssrc)))).toBe(true);
    }
    expect(ours.rolloverCounter(1)).toBe(1);
    expect(ours.rolloverCounter(2)).toBe(0);
  });

  test('its packets decrypt with werift on the receiving side, over two wraps', () => {
    const { receiver, ours } = sessions(profile);
    // werift's receiver spots a wrap only within 100 numbers of it (its MaxROCDisorder): step by less.
    let seq = 65_000;
    for (let n = 0; n < (2 * 65_536) / 61 + 20; n++) {
      const payload = randomBytes(200);
      const h = header(seq, 0x5555, false);
      const decrypted = receiver.decrypt(protect(ours, h, payload));
      expect(decrypted.subarray(12).equals(payload)).toBe(true);
      seq = (seq + 61) & 0xffff;
    }
  });
});

test('rejects an unknown protection profile', () => {
  expect(() => new SrtpSender({ profile: 2, key: randomBytes(16), salt: randomBytes(14) })).toThrow(RangeError);
});
