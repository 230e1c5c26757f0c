// Attribute value codecs (RFC 8489 §14, RFC 8656 §18). Decoders check lengths and return null
// (never throw) on a malformed value; encoders return the value bytes without the TLV header.
import { FAMILY_IPV4, FAMILY_IPV6, MAGIC_COOKIE } from './constants.js';
import type { RawAttribute, StunMessage } from './message.js';
import { formatIpv4, formatIpv6, parseIp } from '../ip.js';

export interface TransportAddress {
  readonly family: 4 | 6;
  readonly address: string;
  readonly port: number;
}

/** XOR-MAPPED-ADDRESS / XOR-PEER-ADDRESS / XOR-RELAYED-ADDRESS (RFC 8489 §14.2). */
export function decodeXorAddress(msg: StunMessage, attr: RawAttribute): TransportAddress | null {
  const b = msg.buf;
  const o = attr.offset;
  if (attr.length < 4) return null;
  const family = b[o + 1];
  const port = b.readUInt16BE(o + 2) ^ (MAGIC_COOKIE >>> 16);
  if (family === FAMILY_IPV4) {
    if (attr.length !== 8) return null;
    const x = new Uint8Array(4);
    for (let i = 0; i < 4; i++) x[i] = b[o + 4 + i] ^ b[4 + i];
    return { family: 4, address: formatIpv4(x), port };
  }
  if (family === FAMILY_IPV6) {
    if (attr.length !== 20) return null;
    const x = new Uint8Array(16);
    // XOR with magic cookie followed by the transaction ID: header bytes 4..20.
    for (let i = 0; i < 16; i++) x[i] = b[o + 4 + i] ^ b[4 + i];
    return { family: 6, address: formatIpv6(x), port };
  }
  return null;
}

/** Encodes an XOR address attribute value given the message's transaction ID. */
export function encodeXorAddress(addr: TransportAddress, transactionId: Buffer): Buffer {
  const ip = parseIp(addr.address);
  const v6 = ip !== null && ip.length === 16;
  const out = Buffer.alloc(v6 ? 20 : 8);
  out[1] = v6 ? FAMILY_IPV6 : FAMILY_IPV4;
  out.writeUInt16BE((addr.port ^ (MAGIC_COOKIE >>> 16)) & 0xffff, 2);
  const key = Buffer.alloc(16);
  key.writeUInt32BE(MAGIC_COOKIE, 0);
  transactionId.copy(key, 4, 0, 12);
  const raw = ip ?? new Uint8Array(4);
  for (let i = 0; i < raw.length; i++) out[4 + i] = raw[i] ^ key[i];
  return out;
}

/** 32-bit unsigned value (LIFETIME, RFC 8656 §18.4); null unless exactly 4 bytes. */
export function decodeUint32(msg: StunMessage, attr: RawAttribute): number | null {
  return attr.length === 4 ? msg.buf.readUInt32BE(attr.offset) : null;
}

export function encodeUint32(value: number): Buffer {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(value >>> 0, 0);
  return out;
}

/** CHANNEL-NUMBER (RFC 8656 §18.1): 16-bit number then 16 bits RFFU. */
export function decodeChannelNumber(msg: StunMessage, attr: RawAttribute): number | null {
  return attr.length === 4 ? msg.buf.readUInt16BE(attr.offset) : null;
}

export function encodeChannelNumber(channel: number): Buffer {
  const out = Buffer.alloc(4);
  out.writeUInt16BE(channel, 0);
  return out;
}

/** REQUESTED-TRANSPORT (RFC 8656 §18.8): protocol number in the first byte. */
export function decodeRequestedTransport(msg: StunMessage, attr: RawAttribute): number | null {
  return attr.length === 4 ? msg.buf[attr.offset] : null;
}

/** REQUESTED-ADDRESS-FAMILY / ADDITIONAL-ADDRESS-FAMILY (RFC 8656 §18.6, §18.11). */
export function decodeAddressFamily(msg: StunMessage, attr: RawAttribute): 4 | 6 | null {
  if (attr.length !== 4) return null;
  const f = msg.buf[attr.offset];
  return f === FAMILY_IPV4 ? 4 : f === FAMILY_IPV6 ? 6 : null;
}

export function encodeAddressFamily(family: 4 | 6): Buffer {
  const out = Buffer.alloc(4);
  out[0] = family === 4 ? FAMILY_IPV4 : FAMILY_IPV6;
  return out;
}

/** EVEN-PORT (RFC 8656 §18.7): R bit is the top bit of one byte. Null when malformed. */
export function decodeEvenPort(msg: StunMessage, attr: RawAttribute): { reserve: boolean } | null {
  return attr.length === 1 ? { reserve: (msg.buf[attr.offset] & 0x80) !== 0 } : null;
}

/** UTF-8 text (USERNAME, REALM, NONCE, SOFTWARE), with a maximum byte length (RFC 8489 §14.3-14.10). */
export function decodeText(msg: StunMessage, attr: RawAttribute, maxBytes: number): string | null {
  if (attr.length > maxBytes) return null;
  return msg.buf.toString('utf8', attr.offset, attr.offset + attr.length);
}

/** Raw bytes of an attribute (DATA, RESERVATION-TOKEN); a view, not a copy. */
export function attributeBytes(msg: StunMessage, attr: RawAttribute): Buffer {
  return msg.buf.subarray(attr.offset, attr.offset + attr.length);
}

/** ERROR-CODE (RFC 8489 §14.8): class*100+number, reason phrase. */
export function encodeErrorCode(code: number, reason: string): Buffer {
  const text = Buffer.from(reason, 'utf8');
  const out = Buffer.alloc(4 + text.length);
  out[2] = Math.floor(code / 100) & 0x07;
  out[3] = code % 100;
  text.copy(out, 4);
  return out;
}

export function decodeErrorCode(msg: StunMessage, attr: RawAttribute): { code: number; reason: string } | null {
  if (attr.length < 4) return null;
  const b = msg.buf;
  const code = (b[attr.offset + 2] & 0x07) * 100 + b[attr.offset + 3];
  return { code, reason: b.toString('utf8', attr.offset + 4, attr.offset + attr.length) };
}

/** UNKNOWN-ATTRIBUTES (RFC 8489 §14.9): list of 16-bit types. */
export function encodeUnknownAttributes(types: readonly number[]): Buffer {
  const out = Buffer.alloc(types.length * 2);
  types.forEach((t, i) => out.writeUInt16BE(t, i * 2));
  return out;
}
