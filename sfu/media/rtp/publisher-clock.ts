/**
 * One publisher's wallclock, as its Sender Reports state it (the NTP timestamp, RFC 3550 §6.4.1), mapped onto the
 * SFU's clock (Unix ms). All of a publisher's tracks share one PublisherClock, so audio and video are mapped through
 * the same offset: their relation (lip sync) survives the two tracks' reports meeting different queuing delays on
 * the way, which anchoring each report at its own arrival would not.
 *
 * The offset is the smallest (arrival − NTP) seen, the report that queued least, allowed to rise by at most
 * MAX_DRIFT per unit of time so that a publisher clock running slow is followed.
 */
export class PublisherClock {
  #offsetMs: number | undefined;
  #updatedAtMs = 0;

  /** A Sender Report stamped `ntpUnixMs` by the publisher arrived at `arrivalMs` (SFU clock). */
  observe(ntpUnixMs: number, arrivalMs: number): void {
    const sample = arrivalMs - ntpUnixMs;
    const offset = this.#offsetMs;
    this.#offsetMs = offset === undefined || sample <= offset ? sample : Math.min(sample, offset + (arrivalMs - this.#updatedAtMs) * MAX_DRIFT);
    this.#updatedAtMs = arrivalMs;
  }

  /** The SFU-clock time of a publisher wallclock time (as observed so far). */
  toLocalMs(ntpUnixMs: number): number {
    return ntpUnixMs + (this.#offsetMs ?? 0);
  }
}

/** 100 ppm: ten times what a crystal oscillator drifts. */
const MAX_DRIFT = 1e-4;
