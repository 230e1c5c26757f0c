/** A rise in the estimate counts only once it has held this long (Chromium's REMB also rises on noise). */
export const RISE_HOLD_MS = 2000;

/**
 * The committed downlink capacity of one subscriber connection, from its browser's REMB reports
 * (docs/BANDWIDTH.md): it follows a report down at once (Chromium sends a lower estimate as soon as it sees
 * its queue grow) and up only to what the reports have held for RISE_HOLD_MS, so one high report does not
 * start upgrades that the next would undo.
 */
export class CapacityEstimate {
  #committed: number | undefined;
  /** Since when every report has been above the committed value, and the lowest of them. */
  #risingSince = -1;
  #risingMin = Infinity;

  /** Bits per second; undefined before the first report (nothing is known, nothing is limited). */
  get bps(): number | undefined {
    return this.#committed;
  }

  /** Takes one report; returns true when the committed value changed. */
  report(bps: number, now: number): boolean {
    const committed = this.#committed;
    if (committed === undefined || bps <= committed) {
      this.#risingSince = -1;
      this.#risingMin = Infinity;
      if (bps === committed) return false;
      this.#committed = bps;
      return true;
    }
    if (this.#risingSince < 0) this.#risingSince = now;
    this.#risingMin = Math.min(this.#risingMin, bps);
    if (now - this.#risingSince < RISE_HOLD_MS) return false;
    this.#committed = this.#risingMin;
    this.#risingSince = now;
    this.#risingMin = bps;
    return true;
  }
}
