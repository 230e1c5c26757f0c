/**
 * Turning a layer off waits until no subscriber has needed it for this long: a tile resized for a moment, or a
 * short congestion, must not make the publisher stop and restart an encoder (each restart costs a key frame).
 * LiveKit holds the publisher's layers 10 s after publishing and debounces downgrades; 5 s is our middle ground.
 */
export const DYNACAST_DOWNGRADE_DELAY_MS = 5000;

/**
 * Dynacast for one simulcast track (docs/BANDWIDTH.md): keeps the publisher sending the layers some subscriber
 * receives, and no others. `update()` takes the highest layer any subscriber needs now (-1: none). A higher
 * need is announced at once, so a subscriber waits no longer than the encoder's restart; a lower one only
 * after it has held for the delay. Every layer is on at first: that is what the publisher starts with.
 */
export class Dynacast {
  #announced: number;
  #needed: number;
  #timer?: NodeJS.Timeout;
  #closed = false;

  constructor(
    layerCount: number,
    private readonly onChange: (highestLayer: number, previous: number) => void,
    private readonly delayMs = DYNACAST_DOWNGRADE_DELAY_MS,
  ) {
    this.#announced = this.#needed = layerCount - 1;
  }

  /** The highest layer the publisher has been asked to send; -1 when none. */
  get highestLayer(): number {
    return this.#announced;
  }

  update(needed: number): void {
    if (this.#closed) return;
    this.#needed = needed;
    if (needed >= this.#announced) {
      this.#cancel();
      if (needed > this.#announced) this.#announce(needed);
      return;
    }
    this.#timer ??= setTimeout(() => {
      this.#timer = undefined;
      if (this.#needed < this.#announced) this.#announce(this.#needed);
    }, this.delayMs).unref();
  }

  close(): void {
    this.#closed = true;
    this.#cancel();
  }

  #announce(layer: number): void {
    const previous = this.#announced;
    this.#announced = layer;
    this.onChange(layer, previous);
  }

  #cancel(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
