// Stateless nonces for long-term credentials (RFC 8489 §9.2): the nonce carries its own expiry
// and a MAC under a per-process random key, so the server keeps no per-client nonce state.
// An expired or forged nonce is answered with 438 Stale Nonce and a fresh one (§9.2.4).
import { createHmac, randomBytes } from 'node:crypto';

export type NonceCheck = 'valid' | 'stale';

export class NonceIssuer {
  readonly #key: Buffer;
  readonly #lifetimeMs: number;

  constructor(lifetimeSeconds: number, key: Buffer = randomBytes(20)) {
    this.#key = key;
    this.#lifetimeMs = lifetimeSeconds * 1000;
  }

  issue(now: number): string {
    const expiry = Math.floor(now + this.#lifetimeMs).toString(16);
    return `${expiry}.${this.#mac(expiry)}`;
  }

  check(nonce: string, now: number): NonceCheck {
    const dot = nonce.indexOf('.');
    if (dot <= 0 || dot > 13) return 'stale';
    const expiry = nonce.slice(0, dot);
    if (nonce.slice(dot + 1) !== this.#mac(expiry)) return 'stale';
    const expiresAt = parseInt(expiry, 16);
    return Number.isFinite(expiresAt) && expiresAt > now ? 'valid' : 'stale';
  }

  #mac(expiry: string): string {
    return createHmac('sha1', this.#key).update(expiry).digest('hex').slice(0, 24);
  }
}
