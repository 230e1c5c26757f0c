// MESSAGE-INTEGRITY (RFC 8489 §14.5) and FINGERPRINT (RFC 8489 §14.7).
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { crc32 } from 'node:zlib';
import type { StunMessage } from './message.js';

/** FINGERPRINT is CRC-32 of the message up to the attribute, XORed with 0x5354554e (RFC 8489 §14.7). */
export const FINGERPRINT_XOR = 0x5354554e;

/** Long-term credential key: MD5(username ":" realm ":" password) (RFC 8489 §9.2.2). */
export function longTermKey(username: string, realm: string, password: string): Buffer {
  return createHash('md5').update(`${username}:${realm}:${password}`, 'utf8').digest();
}

/**
 * HMAC-SHA1 over the message up to (not including) the attribute at `upTo`, with the header's
 * length field set as if that attribute of `attrTotal` bytes ended the message (RFC 8489 §14.5).
 */
export function computeIntegrity(buf: Buffer, upTo: number, key: Buffer): Buffer {
  const header = Buffer.from(buf.subarray(0, 20));
  header.writeUInt16BE(upTo - 20 + 24, 2);
  return createHmac('sha1', key).update(header).update(buf.subarray(20, upTo)).digest();
}

/** True when the message has MESSAGE-INTEGRITY and it verifies with `key`. */
export function verifyIntegrity(msg: StunMessage, key: Buffer): boolean {
  const at = msg.integrityOffset;
  if (at < 0) return false;
  const expected = computeIntegrity(msg.buf, at, key);
  return timingSafeEqual(expected, msg.buf.subarray(at + 4, at + 24));
}

export function computeFingerprint(buf: Buffer, upTo: number): number {
  return (crc32(buf.subarray(0, upTo)) ^ FINGERPRINT_XOR) >>> 0;
}

/** True when the message has no FINGERPRINT or its FINGERPRINT is correct. */
export function fingerprintValid(msg: StunMessage): boolean {
  const at = msg.fingerprintOffset;
  if (at < 0) return true;
  return computeFingerprint(msg.buf, at) === msg.buf.readUInt32BE(at + 4);
}
