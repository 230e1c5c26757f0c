// STUN message decoding (RFC 8489 §5, §14). Defensive: every length is checked before it is read,
// nothing throws; a message that does not parse is `null` and the caller discards it.
import { Attr, HEADER_LENGTH, MAGIC_COOKIE, classOf, methodOf } from './constants.js';

/** One attribute as a window onto the message buffer (value starts at `offset`). */
export interface RawAttribute {
  readonly type: number;
  readonly offset: number;
  readonly length: number;
}

export interface StunMessage {
  /** Exactly the message bytes (header + attributes). */
  readonly buf: Buffer;
  readonly type: number;
  readonly method: number;
  readonly cls: number;
  readonly transactionId: Buffer;
  /** Attributes before MESSAGE-INTEGRITY/FINGERPRINT, in order (RFC 8489 §14: later ones are ignored). */
  readonly attributes: readonly RawAttribute[];
  /** Offset of the MESSAGE-INTEGRITY attribute header, or -1. */
  readonly integrityOffset: number;
  /** Offset of the FINGERPRINT attribute header, or -1. */
  readonly fingerprintOffset: number;
}

/** True when the first bytes look like a STUN header (RFC 8489 §5: top two bits zero, magic cookie). */
export function looksLikeStun(buf: Buffer, offset = 0): boolean {
  return buf.length - offset >= HEADER_LENGTH && (buf[offset] & 0xc0) === 0 && buf.readUInt32BE(offset + 4) === MAGIC_COOKIE;
}

/**
 * Decodes one complete STUN message occupying all of `buf`. Returns null when the header or any
 * attribute length is inconsistent with the buffer.
 */
export function decodeStunMessage(buf: Buffer): StunMessage | null {
  if (!looksLikeStun(buf)) return null;
  const length = buf.readUInt16BE(2);
  if ((length & 3) !== 0 || HEADER_LENGTH + length !== buf.length) return null;
  const type = buf.readUInt16BE(0);
  const attributes: RawAttribute[] = [];
  let integrityOffset = -1;
  let fingerprintOffset = -1;
  let pos = HEADER_LENGTH;
  while (pos < buf.length) {
    if (pos + 4 > buf.length) return null;
    const attrType = buf.readUInt16BE(pos);
    const attrLen = buf.readUInt16BE(pos + 2);
    const padded = (attrLen + 3) & ~3;
    if (pos + 4 + padded > buf.length) return null;
    if (fingerprintOffset < 0) {
      if (attrType === Attr.Fingerprint) {
        // RFC 8489 §14.7: FINGERPRINT is last; anything after makes the message malformed.
        if (attrLen !== 4 || pos + 8 !== buf.length) return null;
        fingerprintOffset = pos;
      } else if (attrType === Attr.MessageIntegrity) {
        if (integrityOffset < 0) {
          if (attrLen !== 20) return null;
          integrityOffset = pos;
        }
      } else if (integrityOffset < 0) {
        attributes.push({ type: attrType, offset: pos + 4, length: attrLen });
      }
    }
    pos += 4 + padded;
  }
  return {
    buf,
    type,
    method: methodOf(type),
    cls: classOf(type),
    transactionId: buf.subarray(8, 20),
    attributes,
    integrityOffset,
    fingerprintOffset,
  };
}

/** First attribute of a type, or undefined (RFC 8489 §14: only the first occurrence counts). */
export function findAttribute(msg: StunMessage, type: number): RawAttribute | undefined {
  const list = msg.attributes;
  for (let i = 0; i < list.length; i++) if (list[i].type === type) return list[i];
  return undefined;
}

/** Every attribute of a type (XOR-PEER-ADDRESS may repeat in CreatePermission, RFC 8656 §9.1). */
export function findAttributes(msg: StunMessage, type: number): RawAttribute[] {
  return msg.attributes.filter((a) => a.type === type);
}
