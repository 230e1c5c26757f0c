/** Something that builds and sends one offer when its turn comes. */
export interface Negotiator {
  runNegotiation(): Promise<void>;
}

/**
 * Runs the SFU's heavy werift session-description work one piece at a time, each in its own turn of the event
 * loop: building a subscriber offer (createOffer + setLocalDescription) and applying a subscriber answer
 * (setRemoteDescription). werift's cost for these grows with the number of m-lines (tens of ms at 200, mostly
 * SDP parsing and printing), and one join in a full room changes the tracks of every subscriber: done as they
 * come, a hundred offers are built in one turn and a hundred answers, arriving together, are applied in the
 * next, stalling the event loop (and ICE, DTLS and every socket) for seconds.
 *
 * Answers go first (each one frees its subscriber for the next offer), then first offers (a joiner's data
 * channels), then renegotiations. A subscriber waiting for its turn is queued once, and every change made to it
 * meanwhile is folded into the one offer it then gets: the busier the room, the more each offer carries.
 */
export class NegotiationQueue {
  readonly #jobs: (() => Promise<void>)[] = [];
  readonly #first = new Set<Negotiator>();
  readonly #later = new Set<Negotiator>();
  readonly #delayMs: number;
  #running = false;
  #timer?: NodeJS.Timeout;
  #closed = false;

  /** `delayMs`: how long a renegotiation waits for more changes when the queue is idle (bursts share offers). */
  constructor(delayMs: number) {
    this.#delayMs = delayMs;
  }

  get size(): number {
    return this.#jobs.length + this.#first.size + this.#later.size;
  }

  /** Queues `negotiator` unless it is already waiting; `first` puts it ahead of renegotiations. */
  enqueue(negotiator: Negotiator, first = false): void {
    if (this.#closed || this.#first.has(negotiator) || this.#later.has(negotiator)) return;
    (first ? this.#first : this.#later).add(negotiator);
    this.#schedule(first ? 0 : this.#delayMs);
  }

  /** Forgets `negotiator` (it closed). */
  remove(negotiator: Negotiator): void {
    this.#first.delete(negotiator);
    this.#later.delete(negotiator);
  }

  /** Runs `work` in its own turn, ahead of queued offers; resolves or rejects with it. */
  exclusive<T>(work: () => Promise<T>): Promise<T> {
    if (this.#closed) return work();
    return new Promise<T>((resolve, reject) => {
      this.#jobs.push(() => work().then(resolve, reject));
      this.#schedule(0);
    });
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#first.clear();
    this.#later.clear();
    clearTimeout(this.#timer);
    this.#timer = undefined;
    // Jobs already queued still run (their callers wait for them), without taking turns.
    for (const job of this.#jobs.splice(0)) void job();
  }

  #schedule(delayMs: number): void {
    if (this.#running || this.#closed) return;
    if (this.#timer && delayMs > 0) return;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.#drain(), delayMs);
  }

  async #drain(): Promise<void> {
    this.#timer = undefined;
    this.#running = true;
    try {
      for (let next = this.#next(); next && !this.#closed; next = this.#next()) {
        await next().catch(() => undefined);
        // Timers, sockets (STUN, DTLS, signaling) run between two pieces of work.
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    } finally {
      this.#running = false;
    }
  }

  #next(): (() => Promise<void>) | undefined {
    const job = this.#jobs.shift();
    if (job) return job;
    for (const set of [this.#first, this.#later]) {
      for (const negotiator of set) {
        set.delete(negotiator);
        return () => negotiator.runNegotiation();
      }
    }
    return undefined;
  }
}
