/**
 * One sender's data allowance: a message bucket and a byte bucket (rate per second, burst capacity), on a
 * clock passed in (milliseconds). A message passes only when both buckets can pay for it.
 */
export interface DataRateLimits {
  dataMessagesPerSecond: number;
  dataMessageBurst: number;
  dataBytesPerSecond: number;
  dataBytesBurst: number;
}

/** A refused sender hears about it at most this often (a flood must not become a flood of errors). */
const REJECTION_NOTICE_INTERVAL_MS = 1000;

export class DataRateLimit {
  #messages: number;
  #bytes: number;
  #updatedAt: number;
  #lastNoticeAt = -Infinity;

  constructor(
    readonly limits: DataRateLimits,
    now: number,
  ) {
    this.#messages = limits.dataMessageBurst;
    this.#bytes = limits.dataBytesBurst;
    this.#updatedAt = now;
  }

  /** Takes one message of `bytes` if the allowance covers it; false (and nothing taken) otherwise. */
  take(bytes: number, now: number): boolean {
    const elapsed = Math.max(0, now - this.#updatedAt) / 1000;
    this.#updatedAt = now;
    this.#messages = Math.min(this.limits.dataMessageBurst, this.#messages + elapsed * this.limits.dataMessagesPerSecond);
    this.#bytes = Math.min(this.limits.dataBytesBurst, this.#bytes + elapsed * this.limits.dataBytesPerSecond);
    if (this.#messages < 1 || this.#bytes < bytes) return false;
    this.#messages -= 1;
    this.#bytes -= bytes;
    return true;
  }

  /** True when the sender should be told (again) that its messages are being dropped. */
  shouldNotify(now: number): boolean {
    if (now - this.#lastNoticeAt < REJECTION_NOTICE_INTERVAL_MS) return false;
    this.#lastNoticeAt = now;
    return true;
  }
}
