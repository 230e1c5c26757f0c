import { createCipheriv, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { SrtcpSession } from 'werift';
import { REPLAY_WINDOW, ReplayWindow } from '../../../sfu/media/rtp/replay-window.js';
import { SrtcpReceiver } from '../../../sfu/media/rtp/srtcp-receiver.js';
import { SRTP_AEAD_AES_128_GCM, SRTP_AES128_CM_HMAC_SHA1_80 } from '../../../sfu/media/rtp/srtp-sender.js';

const hex = (s: string) => Buffer.from(s.replace(/\s/g, ''), 'hex');

/** A werift SRTCP sender and our receiver on the keys werift's receiving side derives. */
function sessions(profile: number) {
  const masterKey = randomBytes(16);
  const masterSalt = randomBytes(profile === SRTP_AEAD_AES_128_GCM ? 12 : 14);
  const otherKey = randomBytes(16);
  const otherSalt = randomBytes(masterSalt.length);
  const sender = new SrtcpSession({ keys: { localMasterKey: masterKey, localMasterSalt: masterSalt, remoteMasterKey: otherKey, remoteMasterSalt: otherSalt }, profile: profile as never });
  const weriftReceiver = new SrtcpSession({ keys: { localMasterKey: otherKey, localMasterSalt: otherSalt, remoteMasterKey: masterKey, remoteMasterSalt: masterSalt }, profile: profile as never });
  const context = weriftReceiver.remoteContext;
  const ours = new SrtcpReceiver({ profile, key: context.srtcpSessionKey, salt: context.srtcpSessionSalt, authKey: context.srtcpSessionAuthTag });
  return { sender, weriftReceiver, ours };
}

/** An RTCP packet (a receiver report header with `extra` bytes of body) from `ssrc`. */
function rtcp(ssrc: number, extra: number): Buffer {
  const words = 1 + (extra >> 2);
  const packet = Buffer.alloc(4 + words * 4);
  packet[0] = 0x80;
  packet[1] = 201;
  packet.writeUInt16BE(words, 2);
  packet.writeUInt32BE(ssrc, 4);
  randomBytes(packet.length - 8).copy(packet, 8);
  return packet;
}

const profiles = [
  ['AES_CM_128_HMAC_SHA1_80', SRTP_AES128_CM_HMAC_SHA1_80],
  ['AEAD_AES_128_GCM', SRTP_AEAD_AES_128_GCM],
] as const;

describe('SrtcpReceiver with AEAD_AES_128_GCM: RFC 7714 §17.1', () => {
  // §16: session key 00 01 … 0f, salt "Quid pro quo"; §17.1: SSRC 4d617273, SRTCP index 000005d4, E = 1.
  const receiver = () => new SrtcpReceiver({ profile: SRTP_AEAD_AES_128_GCM, key: hex('000102030405060708090a0b0c0d0e0f'), salt: hex('51756964 2070726f 2071756f') });
  const plain = hex('81c8000d 4d617273 4e545031 4e545032 52545020 0000042a 0000e930 4c756e61 deadbeef deadbeef deadbeef deadbeef deadbeef');
  const protectedPacket = hex(
    '81c8000d 4d617273 63e94885 dcdab67c a727d766 2f6b7e99 7ff5c0f7 6c06f32d c676a5f1 730d6fda 4ce09b46 86303ded 0bb9275b c84aa458 96cf4d2f c5abf872 45d9eade 800005d4',
  );

  test('decrypts the published encrypted and tagged packet', () => {
    expect(receiver().unprotect(protectedPacket)?.toString('hex')).toBe(plain.toString('hex'));
  });

  test('refuses the published packet with any one bit flipped: header, ciphertext, tag or index', () => {
    for (const at of [1, 5, 8, 30, protectedPacket.length - 10, protectedPacket.length - 1]) {
      const altered = Buffer.from(protectedPacket);
      altered[at] ^= 0x08;
      expect(receiver().unprotect(altered)).toBeUndefined();
    }
  });

  test('authenticates an unencrypted (E = 0) packet, RFC 7714 §9.4: the whole packet is AAD', () => {
    const key = hex('000102030405060708090a0b0c0d0e0f');
    const salt = hex('51756964 2070726f 2071756f');
    const iv = Buffer.alloc(12);
    iv.writeUInt32BE(0x4d617273, 2);
    iv.writeUInt32BE(0x5d4, 8);
    for (let i = 0; i < 12; i++) iv[i] ^= salt[i];
    const word = hex('000005d4');
    const cipher = createCipheriv('aes-128-gcm', key, iv);
    cipher.setAAD(Buffer.concat([plain, word]));
    cipher.final();
    const packet = Buffer.concat([plain, cipher.getAuthTag(), word]);
    expect(receiver().unprotect(packet)?.equals(plain)).toBe(true);
    packet[12] ^= 1;
    expect(receiver().unprotect(packet)).toBeUndefined();
  });
});

describe.each(profiles)('SrtcpReceiver with %s', (_name, profile) => {
  test("decrypts werift's SRTCP packets of every size, as werift's own receiver does", () => {
    const { sender, weriftReceiver, ours } = sessions(profile);
    for (let extra = 0; extra <= 1200; extra += extra < 64 ? 4 : 52) {
      const packet = rtcp(0x01020304, extra);
      const encrypted = sender.encrypt(packet);
      const decrypted = ours.unprotect(encrypted);
      expect(decrypted?.equals(packet)).toBe(true);
      expect(decrypted?.equals(weriftReceiver.decrypt(encrypted))).toBe(true);
    }
  });

  test('keeps a replay list per SSRC: a packet is accepted once, another SSRC is independent', () => {
    const { sender, ours } = sessions(profile);
    const a = sender.encrypt(rtcp(1, 20));
    const b = sender.encrypt(rtcp(2, 20));
    expect(ours.unprotect(a)).toBeDefined();
    expect(ours.unprotect(a)).toBeUndefined();
    expect(ours.unprotect(b)).toBeDefined();
    expect(ours.unprotect(b)).toBeUndefined();
  });

  test('accepts late packets within the window once, refuses those older than it', () => {
    const { sender, ours } = sessions(profile);
    const packets = Array.from({ length: REPLAY_WINDOW + 10 }, () => sender.encrypt(rtcp(7, 8)));
    expect(ours.unprotect(packets[0])).toBeDefined();
    expect(ours.unprotect(packets[packets.length - 1])).toBeDefined();
    // Index 1 is now more than 64 behind the highest; index 20 is within the window.
    expect(ours.unprotect(packets[1])).toBeUndefined();
    expect(ours.unprotect(packets[20])).toBeDefined();
    expect(ours.unprotect(packets[20])).toBeUndefined();
  });

  test('a forged packet does not move the replay window', () => {
    const { sender, ours } = sessions(profile);
    const first = sender.encrypt(rtcp(9, 40));
    const second = sender.encrypt(rtcp(9, 40));
    // A copy of `second` claiming a far higher index fails authentication and must not push `first` out.
    const forged = Buffer.from(second);
    const indexAt = profile === SRTP_AEAD_AES_128_GCM ? forged.length - 4 : forged.length - 14;
    forged.writeUInt32BE((0x80000000 | 1_000_000) >>> 0, indexAt);
    expect(ours.unprotect(forged)).toBeUndefined();
    expect(ours.unprotect(second)).toBeDefined();
    expect(ours.unprotect(first)).toBeDefined();
  });

  test('refuses tampered, truncated and random datagrams without throwing', () => {
    const { sender, ours } = sessions(profile);
    const good = sender.encrypt(rtcp(3, 100));
    for (let at = 0; at < good.length; at += 7) {
      const altered = Buffer.from(good);
      altered[at] ^= 0x40;
      // Byte 0's 0x40 flips the RTCP version bits, which are authenticated too.
      expect(ours.unprotect(altered)).toBeUndefined();
    }
    for (let length = 0; length < good.length; length += 3) expect(ours.unprotect(good.subarray(0, length))).toBeUndefined();
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 3000 }), (bytes) => {
        expect(ours.unprotect(Buffer.from(bytes))).toBeUndefined();
      }),
      { numRuns: 300 },
    );
    expect(ours.unprotect(good)?.length).toBeGreaterThan(0);
  });
});

describe('ReplayWindow', () => {
  test('accepts exactly the indices a 64-packet sliding window over the highest accepted allows (model check)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 400 }), { maxLength: 400 }), (indices) => {
        const window = new ReplayWindow();
        const seen = new Set<number>();
        let highest = -1;
        for (const index of indices) {
          const expected = !seen.has(index) && index > highest - REPLAY_WINDOW;
          expect(window.check(index)).toBe(expected);
          if (expected) {
            window.accept(index);
            seen.add(index);
            highest = Math.max(highest, index);
          }
        }
      }),
      { numRuns: 500 },
    );
  });

  test('handles indices near the 31-bit limit', () => {
    const window = new ReplayWindow();
    window.accept(0x7ffffff0);
    expect(window.check(0x7ffffff0)).toBe(false);
    expect(window.check(0x7fffffff)).toBe(true);
    window.accept(0x7fffffff);
    expect(window.check(0x7ffffff0)).toBe(false);
    expect(window.check(0x7ffffff1)).toBe(true);
  });
});
