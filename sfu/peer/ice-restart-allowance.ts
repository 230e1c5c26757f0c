/**
 * The ICE restarts one peer connection may still make: `burst` in a row, then one more every `intervalMs` (a token
 * bucket on a clock passed in, milliseconds). A client whose path keeps breaking restarts a few times, then rejoins;
 * one that restarts in a loop costs the server an offer or answer (and, for the subscriber, its every m-line) each time.
 */
export class IceRestartAllowance {
  #tokens: number;
  #updatedAt: number;

  constructor(
    private readonly burst: number,
    private readonly intervalMs: number,
    now: number,
  ) {
    this.#tokens = burst;
    this.#updatedAt = now;
  }

  /** Takes one restart if the allowance covers it; false (and nothing taken) otherwise. */
  take(now: number): boolean {
    this.#tokens = Math.min(this.burst, this.#tokens + Math.max(0, now - this.#updatedAt) / this.intervalMs);
    this.#updatedAt = now;
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}
