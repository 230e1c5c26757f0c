/**
 * The UDP ports of `rtc.portMin..portMax`, handed out without probing: a FIFO free list in a ring buffer, so
 * taking and returning a port is O(1) however many are in use, and a returned port goes to the back of the
 * queue (the longest possible time before it is reused, so late datagrams meant for a closed peer connection
 * reach nobody). A port is taken just before its socket is bound and returned when that socket has closed.
 */
export class MediaPortPool {
  readonly min: number;
  readonly max: number;
  readonly #ring: Uint16Array;
  /** 1 while a port is out of the pool, so a double return is caught instead of duplicating the port. */
  readonly #taken: Uint8Array;
  #head = 0;
  #free: number;

  /** `first`: the port handed out first (then the ones above it, wrapping around); `min` by default. */
  constructor(min: number, max: number, first = min) {
    if (!Number.isInteger(min) || !Number.isInteger(max) || min < 1 || max > 65535 || min > max) {
      throw new RangeError(`invalid media port range ${min}..${max}`);
    }
    this.min = min;
    this.max = max;
    const size = max - min + 1;
    this.#ring = new Uint16Array(size);
    this.#taken = new Uint8Array(size);
    if (!Number.isInteger(first) || first < min || first > max) throw new RangeError(`first port ${first} is not in ${min}..${max}`);
    for (let i = 0; i < size; i++) this.#ring[i] = min + ((first - min + i) % size);
    this.#free = size;
  }

  get capacity(): number {
    return this.#ring.length;
  }

  /** Ports in the pool now. */
  get free(): number {
    return this.#free;
  }

  /** Ports taken and not yet returned (bound sockets, and sockets being bound). */
  get inUse(): number {
    return this.capacity - this.#free;
  }

  /** The port free for longest, or undefined when every port is in use. */
  acquire(): number | undefined {
    if (this.#free === 0) return undefined;
    const port = this.#ring[this.#head];
    this.#head = (this.#head + 1) % this.capacity;
    this.#free--;
    this.#taken[port - this.min] = 1;
    return port;
  }

  /** Puts a port taken with {@link acquire} back at the end of the queue. */
  release(port: number): void {
    const index = port - this.min;
    if (!Number.isInteger(port) || index < 0 || index >= this.capacity) throw new RangeError(`port ${port} is not in ${this.min}..${this.max}`);
    if (this.#taken[index] === 0) throw new Error(`port ${port} is already in the pool`);
    this.#taken[index] = 0;
    this.#ring[(this.#head + this.#free) % this.capacity] = port;
    this.#free++;
  }
}

const pools = new Map<string, MediaPortPool>();

/**
 * The process's pool for one address and range. Ports are the operating system's, not one server's: every
 * SFU (and every test bot) in the process binding `listenIp` in the same range shares one pool. It starts at a
 * random port of the range, so processes sharing a range (test runs side by side) rarely try the same ports.
 */
export function mediaPortPool(listenIp: string, min: number, max: number): MediaPortPool {
  const key = `${listenIp}|${min}|${max}`;
  let pool = pools.get(key);
  if (!pool) {
    pool = new MediaPortPool(min, max, min + Math.floor(Math.random() * (max - min + 1)));
    pools.set(key, pool);
  }
  return pool;
}
