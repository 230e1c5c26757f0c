// Relay port allocation from the configured range (RFC 8656 §7.2: the server SHOULD pick relay
// ports at random, RFC 6056; EVEN-PORT asks for an even port, with R=1 also reserving port+1 for a
// later Allocate carrying the RESERVATION-TOKEN, RFC 8656 §14.6 and §14.9).
//
// The port states live in one buffer that every relay thread's pool can share (a SharedArrayBuffer
// from `PortPool.memory()`): a port is taken with an atomic compare-and-swap, so threads draw from
// the whole range without slicing it, and a RESERVATION-TOKEN names its port, so the second
// Allocate can claim it on whichever thread its 5-tuple lands.

/** RFC 8656 §7.2: a reservation is kept about 30 seconds. */
export const RESERVATION_LIFETIME_MS = 30_000;

const FREE = 0;
const USED = 1;
const RESERVED = 2;

export class PortPool {
  readonly #min: number;
  readonly #max: number;
  readonly #random: () => number;
  /** Per port: FREE, USED or RESERVED (shared between threads). */
  readonly #state: Int32Array;
  /** Per port: the reservation token (its 64 bits) and when the reservation ends. */
  readonly #tokens: BigInt64Array;
  readonly #expires: Float64Array;
  /** Ports this pool holds, and the reservations it made (token per port). */
  readonly #mine = new Set<number>();
  readonly #reserved = new Map<number, bigint>();

  /** Memory for the pool of [min, max]; pass the same SharedArrayBuffer to each thread's pool. */
  static memory(min: number, max: number, shared = true): ArrayBufferLike {
    const span = max - min + 1;
    return shared ? new SharedArrayBuffer(span * 20) : new ArrayBuffer(span * 20);
  }

  constructor(min: number, max: number, random: () => number = Math.random, memory: ArrayBufferLike = PortPool.memory(min, max, false)) {
    this.#min = min;
    this.#max = max;
    this.#random = random;
    const span = max - min + 1;
    if (memory.byteLength < span * 20) throw new RangeError('port pool memory is too small for the range');
    this.#tokens = new BigInt64Array(memory, 0, span);
    this.#expires = new Float64Array(memory, span * 8, span);
    this.#state = new Int32Array(memory, span * 16, span);
  }

  /** Ports held by this pool (allocations and reservations). */
  get inUse(): number {
    return this.#mine.size + this.#reserved.size;
  }

  /** Ports held by every pool sharing the memory. */
  get inUseEverywhere(): number {
    let n = 0;
    for (let i = 0; i < this.#state.length; i++) if (Atomics.load(this.#state, i) !== FREE) n++;
    return n;
  }

  get capacity(): number {
    return this.#max - this.#min + 1;
  }

  /**
   * Takes a free port (an even one when asked, with port+1 held too when `pairFree`, for reserve()),
   * starting at a random point and probing linearly. Returns -1 when the range is exhausted (508).
   */
  acquire(even = false, pairFree = false): number {
    const span = this.capacity;
    const start = Math.floor(this.#random() * span);
    for (let n = 0; n < span; n++) {
      const i = (start + n) % span;
      const port = this.#min + i;
      if (even && (port & 1) !== 0) continue;
      if (pairFree && port + 1 > this.#max) continue;
      if (Atomics.load(this.#state, i) !== FREE || Atomics.compareExchange(this.#state, i, FREE, USED) !== FREE) continue;
      if (pairFree && Atomics.compareExchange(this.#state, i + 1, FREE, USED) !== FREE) {
        Atomics.store(this.#state, i, FREE);
        continue;
      }
      this.#mine.add(port);
      if (pairFree) this.#mine.add(port + 1);
      return port;
    }
    return -1;
  }

  release(port: number): void {
    if (this.#mine.delete(port)) Atomics.store(this.#state, port - this.#min, FREE);
  }

  /**
   * Turns `port` (held by the caller's acquire of port-1's pair) into a reservation. The token is
   * `random` with its first two bytes replaced by the port, so any thread can find it.
   */
  reserve(port: number, random: Buffer, now: number): Buffer {
    const token = Buffer.from(random.subarray(0, 8));
    token.writeUInt16BE(port, 0);
    const i = port - this.#min;
    const value = token.readBigInt64BE(0);
    this.#tokens[i] = value;
    this.#expires[i] = now + RESERVATION_LIFETIME_MS;
    this.#mine.delete(port);
    this.#reserved.set(port, value);
    Atomics.store(this.#state, i, RESERVED);
    return token;
  }

  /** Hands over a reserved port: it stays in use, now held by this pool. -1 if unknown or expired. */
  claim(token: Buffer, now: number): number {
    if (token.length !== 8) return -1;
    const port = token.readUInt16BE(0);
    if (port < this.#min || port > this.#max) return -1;
    const i = port - this.#min;
    // The owner's sweep frees a reservation only once expired; checking the expiry first keeps the
    // token check and the swap below from racing it.
    if (Atomics.load(this.#state, i) !== RESERVED || this.#tokens[i] !== token.readBigInt64BE(0) || this.#expires[i] <= now) return -1;
    if (Atomics.compareExchange(this.#state, i, RESERVED, USED) !== RESERVED) return -1;
    this.#reserved.delete(port);
    this.#mine.add(port);
    return port;
  }

  /** Releases this pool's reservations nobody claimed in time (and forgets claimed ones). */
  sweep(now: number): void {
    for (const [port, token] of this.#reserved) {
      const i = port - this.#min;
      if (this.#expires[i] > now && Atomics.load(this.#state, i) === RESERVED && this.#tokens[i] === token) continue;
      this.#reserved.delete(port);
      if (this.#tokens[i] === token) Atomics.compareExchange(this.#state, i, RESERVED, FREE);
    }
  }

  /** Releases everything this pool holds. */
  clear(): void {
    for (const port of this.#mine) Atomics.store(this.#state, port - this.#min, FREE);
    for (const [port, token] of this.#reserved) {
      const i = port - this.#min;
      if (this.#tokens[i] === token) Atomics.compareExchange(this.#state, i, RESERVED, FREE);
    }
    this.#mine.clear();
    this.#reserved.clear();
  }
}
