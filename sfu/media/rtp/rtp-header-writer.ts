/**
 * Builds an outgoing RTP header (RFC 3550 §5.1) with header extensions (RFC 8285) and writes it straight
 * into the packet buffer: one reusable instance per DownTrack, no per-packet objects. Extension values are
 * copied into a small scratch area as they are added, so the caller's buffers may be reused at once.
 *
 * The one-byte form (profile 0xBEDE, RFC 8285 §4.2) is used while every element fits it (id 1–14, 1–16
 * bytes); otherwise the two-byte form (0x100x, §4.3). Elements keep the order they were added in (RFC 8285
 * does not require sorting); the block is zero-padded to a 32-bit boundary.
 */
const MAX_ELEMENTS = 16;
const MAX_VALUE_BYTES = 255;

export const ONE_BYTE_PROFILE = 0xbede;
export const TWO_BYTE_PROFILE = 0x1000;

export class RtpHeaderWriter {
  payloadType = 0;
  sequenceNumber = 0;
  timestamp = 0;
  ssrc = 0;
  marker = false;
  #count = 0;
  #valueBytes = 0;
  #twoByte = false;
  readonly #ids = new Uint8Array(MAX_ELEMENTS);
  readonly #lengths = new Uint8Array(MAX_ELEMENTS);
  readonly #values = Buffer.alloc(MAX_ELEMENTS * MAX_VALUE_BYTES);

  /** Starts a new header; drops the extensions of the previous one. */
  reset(payloadType: number, sequenceNumber: number, timestamp: number, ssrc: number, marker: boolean): this {
    this.payloadType = payloadType;
    this.sequenceNumber = sequenceNumber;
    this.timestamp = timestamp;
    this.ssrc = ssrc;
    this.marker = marker;
    this.#count = 0;
    this.#valueBytes = 0;
    this.#twoByte = false;
    return this;
  }

  get extensionCount(): number {
    return this.#count;
  }

  /** Adds an element whose value is `value` (copied). Ignored when id is 0, the value empty or too long, or full. */
  addBytes(id: number, value: Uint8Array): void {
    const length = value.length;
    const at = this.#reserve(id, length);
    if (at < 0) return;
    for (let i = 0; i < length; i++) this.#values[at + i] = value[i];
  }

  /** Adds an element holding `value` as an unsigned big-endian integer of `bytes` (1–4) bytes. */
  addUint(id: number, value: number, bytes: 1 | 2 | 3 | 4): void {
    const at = this.#reserve(id, bytes);
    if (at < 0) return;
    for (let i = bytes - 1; i >= 0; i--) {
      this.#values[at + i] = value & 0xff;
      value = Math.floor(value / 256);
    }
  }

  /** Bytes `write` will produce: 12, plus the padded extension block when there are elements. */
  get size(): number {
    if (this.#count === 0) return 12;
    const perElement = this.#twoByte ? 2 : 1;
    const body = this.#count * perElement + this.#valueBytes;
    return 12 + 4 + ((body + 3) & ~3);
  }

  /** Writes the header at `offset` of `out` and returns its length. */
  write(out: Uint8Array, offset = 0): number {
    const count = this.#count;
    out[offset] = count > 0 ? 0x90 : 0x80; // V=2, P=0, X, CC=0
    out[offset + 1] = (this.marker ? 0x80 : 0) | (this.payloadType & 0x7f);
    writeU16(out, offset + 2, this.sequenceNumber);
    writeU32(out, offset + 4, this.timestamp);
    writeU32(out, offset + 8, this.ssrc);
    if (count === 0) return 12;
    const size = this.size;
    writeU16(out, offset + 12, this.#twoByte ? TWO_BYTE_PROFILE : ONE_BYTE_PROFILE);
    writeU16(out, offset + 14, (size - 16) >> 2);
    let at = offset + 16;
    let from = 0;
    for (let e = 0; e < count; e++) {
      const id = this.#ids[e];
      const length = this.#lengths[e];
      if (this.#twoByte) {
        out[at++] = id;
        out[at++] = length;
      } else {
        out[at++] = (id << 4) | (length - 1);
      }
      for (let i = 0; i < length; i++) out[at++] = this.#values[from + i];
      from += length;
    }
    const end = offset + size;
    while (at < end) out[at++] = 0;
    return size;
  }

  #reserve(id: number, length: number): number {
    if (id <= 0 || id > 255 || length <= 0 || length > MAX_VALUE_BYTES || this.#count === MAX_ELEMENTS) return -1;
    if (id > 14 || length > 16) this.#twoByte = true;
    const at = this.#valueBytes;
    this.#ids[this.#count] = id;
    this.#lengths[this.#count] = length;
    this.#count++;
    this.#valueBytes += length;
    return at;
  }
}

function writeU16(out: Uint8Array, at: number, value: number): void {
  out[at] = (value >>> 8) & 0xff;
  out[at + 1] = value & 0xff;
}

function writeU32(out: Uint8Array, at: number, value: number): void {
  out[at] = (value >>> 24) & 0xff;
  out[at + 1] = (value >>> 16) & 0xff;
  out[at + 2] = (value >>> 8) & 0xff;
  out[at + 3] = value & 0xff;
}
