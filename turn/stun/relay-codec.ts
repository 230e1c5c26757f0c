// Hot-path codecs for relayed data: ChannelData (RFC 8656 §12.4) and Send/Data indications
// (RFC 8656 §10-11). No full message parse, no per-packet closures; one output buffer per packet.
import { Attr, FAMILY_IPV4, HEADER_LENGTH, MAGIC_COOKIE, Method, StunClass, messageType } from './constants.js';

export const SEND_INDICATION_TYPE = messageType(Method.Send, StunClass.Indication);
export const DATA_INDICATION_TYPE = messageType(Method.Data, StunClass.Indication);

/** Where a Send indication's XOR-PEER-ADDRESS and DATA values are (offsets into the buffer). */
export interface SendFields {
  peerOffset: number;
  peerLength: number;
  dataOffset: number;
  dataLength: number;
  /** A comprehension-required attribute other than the ones a Send indication may carry. */
  unknownRequired: boolean;
}

/**
 * Finds XOR-PEER-ADDRESS and DATA in a Send indication occupying buf[0, end). Returns false when
 * the framing is inconsistent. Lengths are checked before every read.
 */
export function scanSendIndication(buf: Buffer, end: number, out: SendFields): boolean {
  if (end < HEADER_LENGTH || HEADER_LENGTH + buf.readUInt16BE(2) !== end) return false;
  out.peerOffset = -1;
  out.dataOffset = -1;
  out.peerLength = 0;
  out.dataLength = 0;
  out.unknownRequired = false;
  let pos = HEADER_LENGTH;
  while (pos + 4 <= end) {
    const type = buf.readUInt16BE(pos);
    const len = buf.readUInt16BE(pos + 2);
    const next = pos + 4 + ((len + 3) & ~3);
    if (next > end) return false;
    if (type === Attr.XorPeerAddress) {
      if (out.peerOffset < 0) {
        out.peerOffset = pos + 4;
        out.peerLength = len;
      }
    } else if (type === Attr.Data) {
      if (out.dataOffset < 0) {
        out.dataOffset = pos + 4;
        out.dataLength = len;
      }
    } else if (type === Attr.MessageIntegrity || type === Attr.Fingerprint) {
      break;
    } else if (type < 0x8000 && type !== Attr.DontFragment) {
      out.unknownRequired = true;
    }
    pos = next;
  }
  if (pos === end) return true;
  // Stopped at MESSAGE-INTEGRITY/FINGERPRINT (already bounds-checked in the loop), or ran short.
  return pos + 4 <= end;
}

/** ChannelData message (RFC 8656 §12.4): 2-byte channel, 2-byte length, data; padded over TCP. */
export function encodeChannelData(channel: number, data: Buffer, start: number, end: number, pad: boolean): Buffer {
  const len = end - start;
  const total = pad ? (4 + len + 3) & ~3 : 4 + len;
  const out = Buffer.allocUnsafe(total);
  out.writeUInt16BE(channel, 0);
  out.writeUInt16BE(len, 2);
  data.copy(out, 4, start, end);
  if (total > 4 + len) out.fill(0, 4 + len, total);
  return out;
}

// Transaction IDs of Data indications: xorshift32, seeded at random per process. They only need to
// be unique enough to tell indications apart; they carry no security.
let seed = (Math.random() * 0xffffffff) >>> 0 || 1;
function next32(): number {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return seed >>> 0;
}

/** Data indication (RFC 8656 §11.3) with XOR-PEER-ADDRESS and DATA, no FINGERPRINT. */
export function encodeDataIndication(peer: Uint8Array, port: number, data: Buffer, start: number, end: number): Buffer {
  const len = end - start;
  const addrLen = peer.length === 4 ? 8 : 20;
  const padded = (len + 3) & ~3;
  const body = 4 + addrLen + 4 + padded;
  const out = Buffer.allocUnsafe(HEADER_LENGTH + body);
  out.writeUInt16BE(DATA_INDICATION_TYPE, 0);
  out.writeUInt16BE(body, 2);
  out.writeUInt32BE(MAGIC_COOKIE, 4);
  out.writeUInt32BE(next32(), 8);
  out.writeUInt32BE(next32(), 12);
  out.writeUInt32BE(next32(), 16);
  let pos = HEADER_LENGTH;
  out.writeUInt16BE(Attr.XorPeerAddress, pos);
  out.writeUInt16BE(addrLen, pos + 2);
  out[pos + 4] = 0;
  out[pos + 5] = peer.length === 4 ? FAMILY_IPV4 : 0x02;
  out.writeUInt16BE((port ^ (MAGIC_COOKIE >>> 16)) & 0xffff, pos + 6);
  for (let i = 0; i < peer.length; i++) out[pos + 8 + i] = peer[i] ^ out[4 + i];
  pos += 4 + addrLen;
  out.writeUInt16BE(Attr.Data, pos);
  out.writeUInt16BE(len, pos + 2);
  data.copy(out, pos + 4, start, end);
  if (padded > len) out.fill(0, pos + 4 + len, pos + 4 + padded);
  return out;
}
