// Allocation quotas (RFC 8656 §7.2: 486 Allocation Quota Reached): a total and a per-user limit
// that hold across relay threads. The counts live in one buffer (a SharedArrayBuffer from
// `AllocationQuota.memory()` shared by every thread's core): a lock word, the total, and an
// open-addressing hash table of per-user counts keyed by a 64-bit hash of the user id. Allocate
// and delete are rare next to relayed packets, so one spin lock around each update is cheap.
export type QuotaRefusal = 'user-quota' | 'total-quota';

const LOCK = 0;
const TOTAL = 1;
const HEADER = 2;
/** Per slot: hash high word, hash low word, count (0 = empty slot). */
const SLOT = 3;

export class AllocationQuota {
  readonly #perUser: number;
  readonly #total: number;
  readonly #words: Int32Array;
  readonly #mask: number;
  readonly #shared: boolean;

  /** Slots for at most `total` users with allocations, at most half full. */
  static memory(total: number, shared = true): ArrayBufferLike {
    const bytes = (HEADER + slotsFor(total) * SLOT) * 4;
    return shared ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes);
  }

  constructor(perUser: number, total: number, memory: ArrayBufferLike = AllocationQuota.memory(total, false)) {
    this.#perUser = perUser;
    this.#total = total;
    const slots = slotsFor(total);
    if (memory.byteLength < (HEADER + slots * SLOT) * 4) throw new RangeError('quota memory is too small');
    this.#words = new Int32Array(memory, 0, HEADER + slots * SLOT);
    this.#mask = slots - 1;
    this.#shared = memory instanceof SharedArrayBuffer;
  }

  /** Allocations counted, over every thread sharing the memory. */
  get count(): number {
    return Atomics.load(this.#words, TOTAL);
  }

  /** Counts one more allocation for `user`, or says why it would exceed a quota. */
  tryAdd(user: string): QuotaRefusal | null {
    const [hi, lo] = hash(user);
    this.#lock();
    try {
      const w = this.#words;
      if (w[TOTAL] >= this.#total) return 'total-quota';
      const at = this.#find(hi, lo);
      if (w[at + 2] >= this.#perUser) return 'user-quota';
      w[at] = hi;
      w[at + 1] = lo;
      w[at + 2]++;
      w[TOTAL]++;
      return null;
    } finally {
      this.#unlock();
    }
  }

  remove(user: string): void {
    const [hi, lo] = hash(user);
    this.#lock();
    try {
      const w = this.#words;
      const at = this.#find(hi, lo);
      if (w[at + 2] <= 0) return;
      w[TOTAL]--;
      if (--w[at + 2] === 0) this.#deleteSlot((at - HEADER) / SLOT);
    } finally {
      this.#unlock();
    }
  }

  /** Word offset of the user's slot, or of the empty slot where it would go. */
  #find(hi: number, lo: number): number {
    const w = this.#words;
    for (let i = home(hi, lo, this.#mask); ; i = (i + 1) & this.#mask) {
      const at = HEADER + i * SLOT;
      if (w[at + 2] === 0 || (w[at] === hi && w[at + 1] === lo)) return at;
    }
  }

  /** Linear-probing deletion by backward shift, so no tombstones build up. */
  #deleteSlot(slot: number): void {
    const w = this.#words;
    const mask = this.#mask;
    let i = slot;
    for (let j = (i + 1) & mask; ; j = (j + 1) & mask) {
      const at = HEADER + j * SLOT;
      if (w[at + 2] === 0) break;
      const k = home(w[at], w[at + 1], mask);
      // The entry at j may move to i only if its home is not cyclically within (i, j].
      if (i <= j ? i < k && k <= j : i < k || k <= j) continue;
      const to = HEADER + i * SLOT;
      w[to] = w[at];
      w[to + 1] = w[at + 1];
      w[to + 2] = w[at + 2];
      i = j;
    }
    const at = HEADER + i * SLOT;
    w[at] = 0;
    w[at + 1] = 0;
    w[at + 2] = 0;
  }

  #lock(): void {
    const w = this.#words;
    while (Atomics.compareExchange(w, LOCK, 0, 1) !== 0) {
      // Held by another thread for a few microseconds; sleep a little if it was descheduled.
      if (this.#shared) Atomics.wait(w, LOCK, 1, 1);
    }
  }

  #unlock(): void {
    Atomics.store(this.#words, LOCK, 0);
    if (this.#shared) Atomics.notify(this.#words, LOCK, 1);
  }
}

function slotsFor(total: number): number {
  let n = 64;
  while (n < total * 2 && n < 1 << 22) n *= 2;
  return n;
}

function home(hi: number, lo: number, mask: number): number {
  return (hi ^ lo) & mask;
}

/** Two 32-bit FNV-1a hashes with different offsets: 64 bits, so two users practically never share a slot. */
function hash(s: string): [number, number] {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ 0x5bd1e995;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x01000193) ^ (b >>> 15);
  }
  return [a | 0, b | 0];
}
