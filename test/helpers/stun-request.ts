import { createHmac, randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';

/**
 * A STUN binding request as an ICE agent sends it (RFC 8445 §7.2.2): USERNAME "receiver:sender", then
 * MESSAGE-INTEGRITY keyed with the receiver's password (RFC 5389 §15.4), then FINGERPRINT (§15.5).
 */
export function stunBindingRequest(username: string, password: string): Buffer {
  const name = Buffer.from(username, 'utf8');
  const padded = Buffer.alloc(Math.ceil(name.length / 4) * 4);
  name.copy(padded);
  const usernameAttr = Buffer.concat([attrHeader(0x0006, name.length), padded]);
  const header = Buffer.alloc(20);
  header.writeUInt16BE(0x0001, 0);
  header.writeUInt32BE(0x2112a442, 4);
  randomBytes(12).copy(header, 8);
  header.writeUInt16BE(usernameAttr.length + 24, 2);
  const mac = createHmac('sha1', password).update(header).update(usernameAttr).digest();
  const integrity = Buffer.concat([attrHeader(0x0008, 20), mac]);
  header.writeUInt16BE(usernameAttr.length + integrity.length + 8, 2);
  const signed = Buffer.concat([header, usernameAttr, integrity]);
  const fingerprint = Buffer.concat([attrHeader(0x8028, 4), Buffer.alloc(4)]);
  fingerprint.writeUInt32BE((crc32(signed) ^ 0x5354554e) >>> 0, 4);
  return Buffer.concat([signed, fingerprint]);
}

function attrHeader(type: number, length: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt16BE(type, 0);
  b.writeUInt16BE(length, 2);
  return b;
}
