// Resource limits (allocation quotas are in allocation-quota.ts): per-allocation bandwidth
// (RFC 8656 §21.2 "Denial of Service"), and the unauthenticated request rate per source address
// (RFC 8489 §9.2.4 allows a server to drop requests it will not answer).

/** Token bucket; `take` is called on the hot path, so it allocates nothing. */
export class TokenBucket {
  tokens: number;
  last: number;
  readonly rate: number;
  readonly burst: number;

  constructor(ratePerSecond: number, burst: number, now: number) {
    this.rate = ratePerSecond;
    this.burst = burst;
    this.tokens = burst;
    this.last = now;
  }

  take(amount: number, now: number): boolean {
    const elapsed = now - this.last;
    if (elapsed > 0) {
      this.tokens = Math.min(this.burst, this.tokens + (elapsed * this.rate) / 1000);
      this.last = now;
    }
    if (this.tokens < amount) return false;
    this.tokens -= amount;
    return true;
  }
}

/** Per-source-address token buckets for requests that are not (yet) authenticated. */
export class SourceRateLimiter {
  readonly #rate: number;
  readonly #burst: number;
  readonly #buckets = new Map<string, TokenBucket>();
  /** Bound on tracked sources, so a spray of spoofed addresses cannot grow memory without limit. */
  readonly #maxSources: number;

  constructor(ratePerSecond: number, burst: number, maxSources = 100_000) {
    this.#rate = ratePerSecond;
    this.#burst = burst;
    this.#maxSources = maxSources;
  }

  allow(source: string, now: number): boolean {
    if (this.#rate <= 0) return true;
    let bucket = this.#buckets.get(source);
    if (!bucket) {
      if (this.#buckets.size >= this.#maxSources) return false;
      bucket = new TokenBucket(this.#rate, this.#burst, now);
      this.#buckets.set(source, bucket);
    }
    return bucket.take(1, now);
  }

  /** Drops buckets that have refilled completely (the source has gone quiet). */
  sweep(now: number): void {
    for (const [source, b] of this.#buckets) {
      if (b.tokens + ((now - b.last) * b.rate) / 1000 >= b.burst) this.#buckets.delete(source);
    }
  }

  clear(): void {
    this.#buckets.clear();
  }
}
