import { createHmac, timingSafeEqual } from 'node:crypto';

/*
 * Just enough STUN to route a binding request on a shared port: the local ufrag it is addressed to and a check of
 * its MESSAGE-INTEGRITY. Every length is checked before it is read; anything else is "not a binding request".
 */

const HEADER_BYTES = 20;
const MAGIC_COOKIE = 0x2112a442;
/** RFC 5389 §6: Binding method, request class. */
const BINDING_REQUEST = 0x0001;
/** RFC 5389 §15.3 */
const ATTR_USERNAME = 0x0006;
/** RFC 5389 §15.4 */
const ATTR_MESSAGE_INTEGRITY = 0x0008;
const INTEGRITY_BYTES = 20;

export interface BindingRequest {
  /** The receiver's ufrag: USERNAME is "receiver-ufrag:sender-ufrag" (RFC 8445 §7.2.2). */
  localUfrag: string;
  /** Offset of the MESSAGE-INTEGRITY attribute's header, or -1 when there is none. */
  integrityOffset: number;
}

/** RFC 7983 §7: a first byte of 0..3 is STUN (DTLS is 20..63, RTP/RTCP 128..191). */
export function looksLikeStun(data: Buffer): boolean {
  return data.length >= HEADER_BYTES && data[0] < 4;
}

/** The binding request in `data`, or undefined when it is not a well-formed one with a USERNAME. */
export function readBindingRequest(data: Buffer): BindingRequest | undefined {
  if (data.length < HEADER_BYTES || data.readUInt16BE(0) !== BINDING_REQUEST || data.readUInt32BE(4) !== MAGIC_COOKIE) return undefined;
  const end = HEADER_BYTES + data.readUInt16BE(2);
  // RFC 5389 §6: the length counts the attributes only and is a multiple of 4.
  if (end > data.length || (end & 3) !== 0) return undefined;
  let localUfrag: string | undefined;
  let integrityOffset = -1;
  for (let offset = HEADER_BYTES; offset + 4 <= end; ) {
    const type = data.readUInt16BE(offset);
    const length = data.readUInt16BE(offset + 2);
    const valueEnd = offset + 4 + length;
    if (valueEnd > end) return undefined;
    if (type === ATTR_USERNAME && localUfrag === undefined) {
      const username = data.toString('utf8', offset + 4, valueEnd);
      const colon = username.indexOf(':');
      localUfrag = colon >= 0 ? username.slice(0, colon) : username;
    } else if (type === ATTR_MESSAGE_INTEGRITY) {
      if (length !== INTEGRITY_BYTES) return undefined;
      integrityOffset = offset;
      break; // RFC 5389 §15.4: only FINGERPRINT may follow, and it is not covered
    }
    offset = valueEnd + ((4 - (length & 3)) & 3);
  }
  return localUfrag ? { localUfrag, integrityOffset } : undefined;
}

/**
 * RFC 5389 §15.4 with the short-term credential of ICE (RFC 8445 §7.2.2: the key is the receiver's password): the
 * HMAC-SHA1 over the message up to the attribute, with the header's length as if the attribute ended the message.
 */
export function hasValidIntegrity(data: Buffer, request: BindingRequest, password: string): boolean {
  const offset = request.integrityOffset;
  if (offset < 0) return false;
  const header = Buffer.from(data.subarray(0, HEADER_BYTES));
  header.writeUInt16BE(offset + 4 + INTEGRITY_BYTES - HEADER_BYTES, 2);
  const mac = createHmac('sha1', password).update(header).update(data.subarray(HEADER_BYTES, offset)).digest();
  return timingSafeEqual(mac, data.subarray(offset + 4, offset + 4 + INTEGRITY_BYTES));
}
