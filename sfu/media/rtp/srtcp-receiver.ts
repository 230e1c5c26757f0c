import { createDecipheriv, createHmac, timingSafeEqual, type KeyObject } from 'node:crypto';
import { AesCmKeystream } from './aes-cm-keystream.js';
import { ReplayWindow } from './replay-window.js';
import { profileCiphers, type SrtpSessionKeys } from './srtp-sender.js';

const RTCP_HEADER = 8;
const INDEX_LENGTH = 4;

/**
 * The receiving side of an SRTCP session (one DTLS transport, the remote peer's keys): authenticates and decrypts
 * compound RTCP packets. RFC 3711 §3.4 (AES_CM_128_HMAC_SHA1_80: header | encrypted part | E+index | 80-bit tag)
 * or RFC 7714 §9 (AEAD_AES_128_GCM: header | encrypted part | 128-bit tag | E+index). Packets that are too short,
 * fail authentication or replay an index already accepted (§3.3.2, per SSRC) are refused: `unprotect` returns
 * undefined, and nothing is recorded for them.
 *
 * It replaces werift's SRTCP decryption, which parses the header bit by bit, builds IV and AAD with generic
 * writers and several `Buffer.concat`s, creates an HMAC from a raw key (AES-CM) per packet, and keeps no
 * replay list. AES-CM here takes its keystream from one session cipher (AesCmKeystream); GCM still needs one
 * `createDecipheriv` per packet (Node cannot re-IV a cipher).
 */
export class SrtcpReceiver {
  readonly profile: number;
  readonly #key: Uint8Array;
  readonly #salt: Uint8Array;
  readonly #authKey: KeyObject | undefined;
  readonly #keystream: AesCmKeystream | undefined;
  readonly #tagLength: number;
  readonly #iv = Buffer.alloc(12);
  readonly #aad = Buffer.alloc(RTCP_HEADER + INDEX_LENGTH);
  readonly #replay = new Map<number, ReplayWindow>();

  /** `keys`: the remote side's SRTCP session keys (RFC 3711 §4.3, labels 3, 4 and 5). */
  constructor(keys: SrtpSessionKeys) {
    this.profile = keys.profile;
    this.#key = keys.key;
    this.#salt = keys.salt;
    ({ tagLength: this.#tagLength, authKey: this.#authKey, keystream: this.#keystream } = profileCiphers(keys));
  }

  /** The compound RTCP packet in `packet` (a new buffer), or undefined when it is refused. Never throws for bad input. */
  unprotect(packet: Buffer): Buffer | undefined {
    const tagLength = this.#tagLength;
    if (packet.length < RTCP_HEADER + tagLength + INDEX_LENGTH) return undefined;
    const ssrc = packet.readUInt32BE(4);
    let window = this.#replay.get(ssrc);
    const gcm = this.#keystream === undefined;
    // GCM: the E+index word ends the packet (RFC 7714 §9.2); AES-CM: it precedes the tag (RFC 3711 §3.4).
    const indexAt = gcm ? packet.length - INDEX_LENGTH : packet.length - tagLength - INDEX_LENGTH;
    const word = packet.readUInt32BE(indexAt);
    const encrypted = word >>> 31 === 1;
    const index = word & 0x7fffffff;
    if (window && !window.check(index)) return undefined;
    const out = gcm ? this.#openGcm(packet, ssrc, index, encrypted, indexAt) : this.#openCm(packet, ssrc, index, encrypted, indexAt);
    if (!out) return undefined;
    if (!window) {
      window = new ReplayWindow();
      this.#replay.set(ssrc, window);
    }
    window.accept(index);
    return out;
  }

  /** RFC 7714 §9: IV = (0x0000 || SSRC || 0x0000 || 0 || index) XOR salt; AAD per §9.3 / §9.4. */
  #openGcm(packet: Buffer, ssrc: number, index: number, encrypted: boolean, indexAt: number): Buffer | undefined {
    const tagAt = indexAt - 16;
    const iv = this.#iv;
    iv.fill(0, 0, 2);
    iv.writeUInt32BE(ssrc, 2);
    iv.writeUInt32BE(index, 8);
    iv[6] = 0;
    iv[7] = 0;
    for (let i = 0; i < 12; i++) iv[i] ^= this.#salt[i];
    try {
      const decipher = createDecipheriv('aes-128-gcm', this.#key, iv);
      decipher.setAuthTag(packet.subarray(tagAt, indexAt));
      if (!encrypted) {
        // §9.4: authenticated only; the whole packet up to the tag is AAD, with the E+index word.
        decipher.setAAD(Buffer.concat([packet.subarray(0, tagAt), packet.subarray(indexAt)]));
        decipher.final();
        return Buffer.from(packet.subarray(0, tagAt));
      }
      const aad = this.#aad;
      packet.copy(aad, 0, 0, RTCP_HEADER);
      packet.copy(aad, RTCP_HEADER, indexAt, indexAt + INDEX_LENGTH);
      decipher.setAAD(aad);
      const out = Buffer.allocUnsafe(tagAt);
      packet.copy(out, 0, 0, RTCP_HEADER);
      const plain = decipher.update(packet.subarray(RTCP_HEADER, tagAt));
      decipher.final();
      plain.copy(out, RTCP_HEADER);
      return out;
    } catch {
      return undefined;
    }
  }

  /** RFC 3711 §3.4/§4.2: tag = HMAC-SHA1(k_a, header || encrypted part || E+index), then AES-CM with i = index. */
  #openCm(packet: Buffer, ssrc: number, index: number, encrypted: boolean, indexAt: number): Buffer | undefined {
    const tagAt = indexAt + INDEX_LENGTH;
    if (encrypted && indexAt - RTCP_HEADER > AesCmKeystream.maxLength) return undefined;
    const digest = createHmac('sha1', this.#authKey!).update(packet.subarray(0, tagAt)).digest();
    if (!timingSafeEqual(digest.subarray(0, 10), packet.subarray(tagAt, tagAt + 10))) return undefined;
    const out = Buffer.from(packet.subarray(0, indexAt));
    if (encrypted) this.#keystream!.xor(out, RTCP_HEADER, indexAt - RTCP_HEADER, ssrc, index >>> 16, index & 0xffff);
    return out;
  }
}
