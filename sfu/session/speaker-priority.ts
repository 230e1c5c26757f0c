/**
 * Whose camera gets the active speaker's allocation priority (docs/BANDWIDTH.md): the dominant speaker once they have
 * stayed dominant for `holdMs`, so that short turns (a cough, a beep, quick back-and-forth) do not move cameras
 * between layers at every word, each move costing a key frame. The holder keeps the priority while nobody speaks,
 * until another speaker has been dominant as long, or until they leave.
 */
export class SpeakerPriority {
  #holder: string | undefined;
  #timer: NodeJS.Timeout | undefined;

  constructor(
    readonly holdMs: number,
    private readonly onChange: (identity: string | undefined) => void,
  ) {}

  /** The identity whose camera has the priority now. */
  get holder(): string | undefined {
    return this.#holder;
  }

  /** The loudest speaker changed (undefined: nobody speaks). */
  dominantChanged(identity: string | undefined): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (identity === undefined || identity === this.#holder) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#set(identity);
    }, this.holdMs);
  }

  /** A participant left: a priority they held goes with them. */
  left(identity: string): void {
    if (this.#holder === identity) this.#set(undefined);
  }

  close(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #set(identity: string | undefined): void {
    this.#holder = identity;
    this.onChange(identity);
  }
}
