/** How long each phase of one request took, for its log line (`tokenMs`, `locateMs`, ... and `totalMs`), in ms. */
export class PhaseTimer {
  readonly #startedAt = performance.now();
  #last = this.#startedAt;
  readonly phases: Record<string, number> = {};

  /** Ends the phase `name` (it began when the previous one ended). */
  mark(name: string): void {
    const now = performance.now();
    this.phases[`${name}Ms`] = roundMs(now - this.#last);
    this.#last = now;
  }

  get totalMs(): number {
    return roundMs(performance.now() - this.#startedAt);
  }
}

function roundMs(ms: number): number {
  return Math.round(ms * 10) / 10;
}
