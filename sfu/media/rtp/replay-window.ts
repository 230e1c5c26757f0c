/** Packets behind the highest one received that can still be accepted (RFC 3711 §3.3.2 asks for at least 64). */
export const REPLAY_WINDOW = 64;

/**
 * RFC 3711 §3.3.2 replay protection for one SSRC's SRTCP indices (31 bits): the highest index accepted and a
 * bitmap of the 64 before it. `check` says whether an index may be accepted; `accept` records it, and is called
 * only once the packet has authenticated, so a forged packet never moves the window.
 */
export class ReplayWindow {
  #highest = -1;
  /** Bit i of low (i < 32) or high (i - 32): index `highest - i` was received. */
  #low = 0;
  #high = 0;

  check(index: number): boolean {
    if (index > this.#highest) return true;
    const behind = this.#highest - index;
    if (behind >= REPLAY_WINDOW) return false;
    return behind < 32 ? (this.#low & (1 << behind)) === 0 : (this.#high & (1 << (behind - 32))) === 0;
  }

  accept(index: number): void {
    if (index > this.#highest) {
      const shift = this.#highest < 0 ? REPLAY_WINDOW : index - this.#highest;
      if (shift >= REPLAY_WINDOW) {
        this.#low = 0;
        this.#high = 0;
      } else if (shift >= 32) {
        this.#high = this.#low << (shift - 32);
        this.#low = 0;
      } else {
        this.#high = (this.#high << shift) | (this.#low >>> (32 - shift));
        this.#low <<= shift;
      }
      this.#low |= 1;
      this.#highest = index;
      return;
    }
    const behind = this.#highest - index;
    if (behind < 32) this.#low |= 1 << behind;
    else if (behind < REPLAY_WINDOW) this.#high |= 1 << (behind - 32);
  }
}
