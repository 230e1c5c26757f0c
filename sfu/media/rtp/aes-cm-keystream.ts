import { createCipheriv, type Cipher } from 'node:crypto';

const MAX_BLOCKS = 128; // 2048 bytes of keystream: more than any datagram the SFU sends or receives

/**
 * AES-128 in counter mode as SRTP and SRTCP use it (RFC 3711 §4.1.1), for one session key and salt: one
 * long-lived AES-128-ECB cipher turns counter blocks into keystream, XORed in place, so no cipher is created
 * per packet.
 */
export class AesCmKeystream {
  /** The most bytes one call can encrypt. */
  static readonly maxLength = MAX_BLOCKS * 16;
  readonly #ecb: Cipher;
  readonly #salt: Uint8Array;
  readonly #counters = Buffer.alloc(MAX_BLOCKS * 16);

  /** `salt`: the 14-byte session salt k_s. */
  constructor(key: Uint8Array, salt: Uint8Array) {
    if (salt.length < 14) throw new TypeError('AES-CM salt must be 14 bytes');
    this.#salt = salt;
    this.#ecb = createCipheriv('aes-128-ecb', key, null);
    this.#ecb.setAutoPadding(false);
  }

  /**
   * XORs `packet[offset, offset + length)` with the keystream of packet index (roc * 2^16 + low16): block j is
   * AES(k_e, (k_s * 2^16) XOR (SSRC * 2^64) XOR (index * 2^16) + j). SRTP: roc and the sequence number; SRTCP
   * (§3.4): the SRTCP index's high 15 and low 16 bits.
   */
  xor(packet: Buffer, offset: number, length: number, ssrc: number, roc: number, low16: number): void {
    if (length > MAX_BLOCKS * 16) throw new RangeError(`payload of ${length} bytes is too large`);
    const counters = this.#counters;
    const salt = this.#salt;
    const blocks = (length + 15) >> 4;
    // Block 0 carries the IV; every other block copies its first 14 bytes and numbers itself.
    for (let i = 0; i < 14; i++) counters[i] = salt[i];
    counters[4] ^= ssrc >>> 24;
    counters[5] ^= (ssrc >>> 16) & 0xff;
    counters[6] ^= (ssrc >>> 8) & 0xff;
    counters[7] ^= ssrc & 0xff;
    counters[8] ^= roc >>> 24;
    counters[9] ^= (roc >>> 16) & 0xff;
    counters[10] ^= (roc >>> 8) & 0xff;
    counters[11] ^= roc & 0xff;
    counters[12] ^= low16 >> 8;
    counters[13] ^= low16 & 0xff;
    counters[14] = 0;
    counters[15] = 0;
    for (let j = 1; j < blocks; j++) {
      const at = j << 4;
      counters.copy(counters, at, 0, 14);
      counters[at + 14] = j >> 8;
      counters[at + 15] = j & 0xff;
    }
    const keystream = this.#ecb.update(counters.subarray(0, blocks << 4));
    for (let i = 0; i < length; i++) packet[offset + i] ^= keystream[i];
  }
}
