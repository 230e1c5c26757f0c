/**
 * The frames a joined session sent, numbered from 1 (after `joined`), so that a client whose socket dropped can
 * say how many it read and receive the rest on its new socket. Bounded by count and size (UTF-16 code units): the oldest frames go
 * first, and a client that missed more than the log holds cannot resume (it joins again).
 */
export class ResumeLog {
  readonly #frames: string[] = [];
  #chars = 0;
  /** Number of the last frame logged (0 before any). */
  #last = 0;

  constructor(
    readonly maxFrames: number,
    readonly maxChars: number,
  ) {}

  get last(): number {
    return this.#last;
  }

  push(frame: string): void {
    this.#frames.push(frame);
    this.#chars += frame.length;
    this.#last++;
    while (this.#frames.length > this.maxFrames || (this.#chars > this.maxChars && this.#frames.length > 1)) {
      this.#chars -= this.#frames.shift()!.length;
    }
  }

  /** The frames after frame `received`, in order; undefined when some of them are no longer held or never existed. */
  after(received: number): string[] | undefined {
    if (!Number.isInteger(received) || received > this.#last) return undefined;
    const first = this.#last - this.#frames.length; // number of the frame before the oldest held
    if (received < first) return undefined;
    return this.#frames.slice(received - first);
  }
}
