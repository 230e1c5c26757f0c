import { createCipheriv, createHmac, createSecretKey, type KeyObject } from 'node:crypto';
import { AesCmKeystream } from './aes-cm-keystream.js';

/** DTLS-SRTP protection profile ids (RFC 5764 §4.1.2, RFC 7714 §14.2), as werift reports them. */
export const SRTP_AES128_CM_HMAC_SHA1_80 = 0x0001;
export const SRTP_AEAD_AES_128_GCM = 0x0007;

/** The session keys of one direction of an SRTP session (RFC 3711 §4.3), already derived. */
export interface SrtpSessionKeys {
  profile: number;
  /** k_e, 16 bytes. */
  key: Uint8Array;
  /** k_s: 14 bytes (AES-CM) or 12 bytes (GCM). */
  salt: Uint8Array;
  /** k_a, 20 bytes; AES-CM only. */
  authKey?: Uint8Array;
}

/** What one SRTP/SRTCP session needs per profile: the tag length, and for AES-CM the HMAC key and keystream. */
export interface ProfileCiphers {
  tagLength: number;
  authKey: KeyObject | undefined;
  keystream: AesCmKeystream | undefined;
}

/** Checks `keys` for its profile and prepares its ciphers once (shared by SrtpSender and SrtcpReceiver). */
export function profileCiphers(keys: SrtpSessionKeys): ProfileCiphers {
  if (keys.profile === SRTP_AES128_CM_HMAC_SHA1_80) {
    if (!keys.authKey) throw new TypeError('AES_CM_128_HMAC_SHA1_80 needs an authentication key');
    return { tagLength: 10, authKey: createSecretKey(keys.authKey), keystream: new AesCmKeystream(keys.key, keys.salt) };
  }
  if (keys.profile === SRTP_AEAD_AES_128_GCM) {
    if (keys.salt.length < 12) throw new TypeError('GCM salt must be 12 bytes');
    return { tagLength: 16, authKey: undefined, keystream: undefined };
  }
  throw new RangeError(`unsupported SRTP profile ${keys.profile}`);
}

/**
 * The sending side of an SRTP session, for one DTLS transport: protects RTP packets in place, in the buffer
 * they were serialized into. RFC 3711 AES_CM_128_HMAC_SHA1_80 or RFC 7714 AEAD_AES_128_GCM.
 *
 * AES-CM keeps one AES-128-ECB cipher for the session and turns counter blocks into keystream with it
 * (RFC 3711 §4.1.1), XORed into the payload; HMAC-SHA1 (§4.2) needs one `createHmac` per packet, keyed by a
 * KeyObject. GCM needs one `createCipheriv` per packet: Node cannot re-IV a cipher.
 *
 * The rollover counter is kept per SSRC (RFC 3711 §3.3.1): the packet index is estimated from the highest
 * sequence number sent so far, so a retransmission of an older packet gets the index it had.
 */
export class SrtpSender {
  readonly profile: number;
  /** Bytes the authentication tag adds after the payload. */
  readonly tagLength: number;
  readonly #key: Uint8Array;
  readonly #salt: Uint8Array;
  readonly #authKey: KeyObject | undefined;
  readonly #keystream: AesCmKeystream | undefined;
  readonly #iv = Buffer.alloc(12);
  readonly #rollover = new Map<number, SsrcIndex>();

  constructor(keys: SrtpSessionKeys) {
    this.profile = keys.profile;
    this.#key = keys.key;
    this.#salt = keys.salt;
    ({ tagLength: this.tagLength, authKey: this.#authKey, keystream: this.#keystream } = profileCiphers(keys));
  }

  /**
   * Encrypts `packet[headerLength, headerLength + payloadLength)` in place and writes the tag right after it;
   * `packet` must have `tagLength` bytes of room there. Returns the SRTP packet length.
   */
  protect(packet: Buffer, headerLength: number, payloadLength: number): number {
    const sequenceNumber = (packet[2] << 8) | packet[3];
    const ssrc = packet.readUInt32BE(8);
    const roc = this.#rolloverFor(ssrc, sequenceNumber);
    const end = headerLength + payloadLength;
    if (this.#keystream) {
      this.#keystream.xor(packet, headerLength, payloadLength, ssrc, roc, sequenceNumber);
      // RFC 3711 §4.2: tag = HMAC-SHA1(k_a, header || encrypted payload || ROC), first 80 bits. The ROC goes
      // where the tag will be, so one update covers it; the tag then overwrites it.
      packet.writeUInt32BE(roc, end);
      const digest = createHmac('sha1', this.#authKey!).update(packet.subarray(0, end + 4)).digest();
      digest.copy(packet, end, 0, 10);
      return end + 10;
    }
    // RFC 7714 §8.1: IV = (0x0000 || SSRC || ROC || SEQ) XOR salt; AAD = the RTP header (§8.2).
    const iv = this.#iv;
    iv[0] = 0;
    iv[1] = 0;
    iv.writeUInt32BE(ssrc, 2);
    iv.writeUInt32BE(roc, 6);
    iv[10] = sequenceNumber >> 8;
    iv[11] = sequenceNumber & 0xff;
    for (let i = 0; i < 12; i++) iv[i] ^= this.#salt[i];
    const cipher = createCipheriv('aes-128-gcm', this.#key, iv);
    cipher.setAAD(packet.subarray(0, headerLength));
    const encrypted = cipher.update(packet.subarray(headerLength, end));
    encrypted.copy(packet, headerLength);
    cipher.final();
    cipher.getAuthTag().copy(packet, end);
    return end + 16;
  }

  /** The rollover counter in force for an SSRC (for tests and diagnostics); 0 before its first packet. */
  rolloverCounter(ssrc: number): number {
    return this.#rollover.get(ssrc)?.roc ?? 0;
  }

  #rolloverFor(ssrc: number, sequenceNumber: number): number {
    let state = this.#rollover.get(ssrc);
    if (!state) {
      state = new SsrcIndex(0, sequenceNumber);
      this.#rollover.set(ssrc, state);
      return 0;
    }
    return state.indexOf(sequenceNumber);
  }
}

/** RFC 3711 §3.3.1 for the sender: ROC and s_l (highest sequence number sent) of one SSRC. */
class SsrcIndex {
  constructor(
    public roc: number,
    public highest: number,
  ) {}

  /** The ROC of the packet with this sequence number (estimated as in §3.3.1) and s_l/ROC updated. */
  indexOf(sequenceNumber: number): number {
    const highest = this.highest;
    let v = this.roc;
    if (highest < 0x8000) {
      if (sequenceNumber - highest > 0x8000) v = (this.roc - 1) >>> 0;
    } else if (highest - 0x8000 > sequenceNumber) {
      v = (this.roc + 1) >>> 0;
    }
    if (v === ((this.roc + 1) >>> 0)) {
      this.roc = v;
      this.highest = sequenceNumber;
    } else if (v === this.roc && sequenceNumber > highest) {
      this.highest = sequenceNumber;
    }
    return v;
  }
}
