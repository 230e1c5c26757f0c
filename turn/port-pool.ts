// Relay port allocation from the configured range (RFC 8656 §7.2: the server SHOULD pick relay
// ports at random, RFC 6056; EVEN-PORT asks for an even port, with R=1 also reserving port+1 for a
// later Allocate carrying the RESERVATION-TOKEN, RFC 8656 §14.6 and §14.9).

/** RFC 8656 §7.2: a reservation is kept about 30 seconds. */
export const RESERVATION_LIFETIME_MS = 30_000;

export interface Reservation {
  readonly token: string;
  readonly port: number;
  readonly expiresAt: number;
}

export class PortPool {
  readonly #min: number;
  readonly #max: number;
  readonly #used = new Set<number>();
  readonly #reservations = new Map<string, Reservation>();
  readonly #random: () => number;

  constructor(min: number, max: number, random: () => number = Math.random) {
    this.#min = min;
    this.#max = max;
    this.#random = random;
  }

  get inUse(): number {
    return this.#used.size;
  }

  get capacity(): number {
    return this.#max - this.#min + 1;
  }

  /**
   * Takes a free port (an even one when asked, with port+1 free too when `pairFree`), starting at
   * a random point and probing linearly. Returns -1 when the range is exhausted (caller answers 508).
   */
  acquire(even = false, pairFree = false): number {
    const span = this.capacity;
    if (this.#used.size >= span) return -1;
    const start = Math.floor(this.#random() * span);
    for (let i = 0; i < span; i++) {
      const port = this.#min + ((start + i) % span);
      if (this.#used.has(port)) continue;
      if (even && (port & 1) !== 0) continue;
      if (pairFree && (port + 1 > this.#max || this.#used.has(port + 1))) continue;
      this.#used.add(port);
      return port;
    }
    return -1;
  }

  release(port: number): void {
    this.#used.delete(port);
  }

  /** Holds `port` (already taken by the caller's acquire of port-1's pair) under a token. */
  reserve(port: number, token: string, now: number): void {
    this.#used.add(port);
    this.#reservations.set(token, { token, port, expiresAt: now + RESERVATION_LIFETIME_MS });
  }

  /** Hands over a reserved port: the port stays in use, now owned by the caller. */
  claim(token: string, now: number): number {
    const r = this.#reservations.get(token);
    if (!r) return -1;
    this.#reservations.delete(token);
    if (r.expiresAt <= now) {
      this.#used.delete(r.port);
      return -1;
    }
    return r.port;
  }

  /** Releases reservations nobody claimed in time. */
  sweep(now: number): void {
    for (const r of this.#reservations.values()) {
      if (r.expiresAt <= now) {
        this.#reservations.delete(r.token);
        this.#used.delete(r.port);
      }
    }
  }

  clear(): void {
    this.#used.clear();
    this.#reservations.clear();
  }
}
