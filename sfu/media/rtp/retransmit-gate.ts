/**
 * Decides whether to answer a NACK for one outgoing sequence number (pure, clock passed in). Receivers repeat
 * NACKs until the packet arrives (werift every 5 ms, up to 10 times; libwebrtc about once per RTT); resending on
 * each would multiply the load exactly when the path is congested. As mediasoup's RtpStreamSend does, a packet
 * is resent at most once per round trip (a default when no RTT is known) and at most `maxResends` times.
 */
export const DEFAULT_RESEND_INTERVAL_MS = 100;
export const MIN_RESEND_INTERVAL_MS = 10;
export const DEFAULT_MAX_RESENDS = 4;
/** A record older than this belongs to an earlier packet with the same (wrapped) sequence number. */
const FORGET_AFTER_MS = 3000;

export class RetransmitGate {
  readonly #mask: number;
  readonly #sequence: Int32Array;
  readonly #lastAt: Float64Array;
  readonly #count: Uint8Array;
  readonly #maxResends: number;
  #intervalMs = DEFAULT_RESEND_INTERVAL_MS;

  /** @param size sequence numbers remembered, a power of two (match the packet cache). */
  constructor(size = 1024, maxResends = DEFAULT_MAX_RESENDS) {
    if (size <= 0 || (size & (size - 1)) !== 0) throw new RangeError(`retransmit gate size must be a power of two, got ${size}`);
    this.#mask = size - 1;
    this.#sequence = new Int32Array(size).fill(-1);
    this.#lastAt = new Float64Array(size);
    this.#count = new Uint8Array(size);
    this.#maxResends = maxResends;
  }

  /** Minimum time between two resends of one packet: the measured RTT, kept within [10 ms, 100 ms]. */
  set roundTripMs(rtt: number) {
    this.#intervalMs = Math.min(DEFAULT_RESEND_INTERVAL_MS, Math.max(MIN_RESEND_INTERVAL_MS, rtt));
  }

  get resendIntervalMs(): number {
    return this.#intervalMs;
  }

  /** True when `sequenceNumber` may be resent at `nowMs`; records the resend. */
  allow(sequenceNumber: number, nowMs: number): boolean {
    const slot = sequenceNumber & this.#mask;
    if (this.#sequence[slot] !== sequenceNumber || nowMs - this.#lastAt[slot] > FORGET_AFTER_MS) {
      this.#sequence[slot] = sequenceNumber;
      this.#count[slot] = 1;
      this.#lastAt[slot] = nowMs;
      return true;
    }
    if (this.#count[slot] >= this.#maxResends || nowMs - this.#lastAt[slot] < this.#intervalMs) return false;
    this.#count[slot]++;
    this.#lastAt[slot] = nowMs;
    return true;
  }
}
