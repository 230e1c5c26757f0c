// STUN message encoding (RFC 8489 §5, §14): attributes are padded to 4 bytes; MESSAGE-INTEGRITY
// and FINGERPRINT are appended last, in that order, each covering what precedes it.
import { HEADER_LENGTH, MAGIC_COOKIE } from './constants.js';
import { Attr } from './constants.js';
import { computeFingerprint, computeIntegrity } from './integrity.js';

export interface FinishOptions {
  /** Long-term (or short-term) key; when set, MESSAGE-INTEGRITY is added. */
  readonly integrityKey?: Buffer;
  /** Add FINGERPRINT (RFC 8489 §14.7). */
  readonly fingerprint?: boolean;
}

export class MessageBuilder {
  readonly #type: number;
  readonly #transactionId: Buffer;
  readonly #attrs: Array<[number, Buffer]> = [];

  constructor(type: number, transactionId: Buffer) {
    this.#type = type;
    this.#transactionId = transactionId;
  }

  get transactionId(): Buffer {
    return this.#transactionId;
  }

  add(type: number, value: Buffer): this {
    this.#attrs.push([type, value]);
    return this;
  }

  addText(type: number, text: string): this {
    return this.add(type, Buffer.from(text, 'utf8'));
  }

  finish(options: FinishOptions = {}): Buffer {
    let body = 0;
    for (const [, v] of this.#attrs) body += 4 + ((v.length + 3) & ~3);
    const total = HEADER_LENGTH + body + (options.integrityKey ? 24 : 0) + (options.fingerprint ? 8 : 0);
    const out = Buffer.alloc(total);
    out.writeUInt16BE(this.#type, 0);
    out.writeUInt16BE(body, 2);
    out.writeUInt32BE(MAGIC_COOKIE, 4);
    this.#transactionId.copy(out, 8, 0, 12);
    let pos = HEADER_LENGTH;
    for (const [t, v] of this.#attrs) {
      out.writeUInt16BE(t, pos);
      out.writeUInt16BE(v.length, pos + 2);
      v.copy(out, pos + 4);
      pos += 4 + ((v.length + 3) & ~3);
    }
    if (options.integrityKey) {
      const mac = computeIntegrity(out, pos, options.integrityKey);
      out.writeUInt16BE(Attr.MessageIntegrity, pos);
      out.writeUInt16BE(20, pos + 2);
      mac.copy(out, pos + 4);
      pos += 24;
    }
    out.writeUInt16BE(pos - HEADER_LENGTH + (options.fingerprint ? 8 : 0), 2);
    if (options.fingerprint) {
      out.writeUInt16BE(Attr.Fingerprint, pos);
      out.writeUInt16BE(4, pos + 2);
      out.writeUInt32BE(computeFingerprint(out, pos), pos + 4);
    }
    return out;
  }
}
