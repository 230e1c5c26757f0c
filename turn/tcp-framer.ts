// Splits a TCP/TLS byte stream into STUN messages and ChannelData messages (RFC 8656 §12.4:
// over TCP, ChannelData is padded to a multiple of 4 bytes; RFC 8489 §6.2.2: STUN messages are
// delimited by their length field). A first byte that is neither (top bits 00 or 01) means the
// stream cannot be resynchronised: the connection must be closed.
import { HEADER_LENGTH } from './stun/constants.js';

/** Largest frame: a STUN header plus the 16-bit length's maximum. Both kinds fit under it. */
export const MAX_FRAME = HEADER_LENGTH + 0xffff;

export class TcpFramer {
  #buf: Buffer = Buffer.alloc(0);
  #pos = 0;
  #error = false;

  /** True once the stream is unrecoverable; the owner closes the connection. */
  get error(): boolean {
    return this.#error;
  }

  push(chunk: Buffer): void {
    if (this.#error) return;
    if (this.#pos >= this.#buf.length) {
      this.#buf = chunk;
    } else {
      this.#buf = Buffer.concat([this.#buf.subarray(this.#pos), chunk]);
    }
    this.#pos = 0;
  }

  /** The next complete frame (a view into the stream buffer), or null when more bytes are needed. */
  next(): Buffer | null {
    if (this.#error) return null;
    const buf = this.#buf;
    const pos = this.#pos;
    const available = buf.length - pos;
    if (available < 4) return null;
    const kind = buf[pos] & 0xc0;
    let size: number;
    if (kind === 0x00) {
      size = HEADER_LENGTH + buf.readUInt16BE(pos + 2);
    } else if (kind === 0x40) {
      size = (4 + buf.readUInt16BE(pos + 2) + 3) & ~3;
    } else {
      this.#error = true;
      return null;
    }
    if (available < size) return null;
    this.#pos = pos + size;
    return buf.subarray(pos, pos + size);
  }

  /** Bytes held waiting for the rest of a frame. */
  get buffered(): number {
    return this.#buf.length - this.#pos;
  }
}
