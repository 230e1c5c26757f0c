// Long-term credentials (RFC 8489 §9.2) from two sources: a static user map, and time-limited
// "TURN REST API" credentials (draft-uberti-behave-turn-rest, coturn's `use-auth-secret`):
// username = "<unix-expiry-seconds>:<identity>", password = base64(HMAC-SHA1(secret, username)).
import { createHmac } from 'node:crypto';
import { longTermKey } from './stun/integrity.js';

export interface MintOptions {
  readonly secret: string;
  readonly identity: string;
  readonly ttlSeconds: number;
  /** Wall-clock milliseconds since the epoch (Date.now()). */
  readonly now: number;
}

export interface TurnCredentials {
  readonly username: string;
  readonly credential: string;
}

export function restApiPassword(secret: string, username: string): string {
  return createHmac('sha1', secret).update(username).digest('base64');
}

/** Mints coturn-compatible time-limited credentials for a client (e.g. a join reply's ICE servers). */
export function mintTurnCredentials(options: MintOptions): TurnCredentials {
  const expiry = Math.floor(options.now / 1000) + Math.max(0, Math.floor(options.ttlSeconds));
  const username = `${expiry}:${options.identity}`;
  return { username, credential: restApiPassword(options.secret, username) };
}

export interface ResolvedUser {
  /** MD5(username:realm:password), the MESSAGE-INTEGRITY key. */
  readonly key: Buffer;
  /** Who quotas count against: the identity part for REST credentials, else the username. */
  readonly userId: string;
}

/** Policy: maps a USERNAME to its key, or null when unknown or expired (then 401). */
export type CredentialResolver = (username: string, realm: string, now: number) => ResolvedUser | null;

export function createCredentialResolver(options: {
  readonly users: Readonly<Record<string, string>>;
  readonly authSecret?: string;
}): CredentialResolver {
  const users = new Map(Object.entries(options.users));
  const secret = options.authSecret;
  return (username, realm, now) => {
    const password = users.get(username);
    if (password !== undefined) return { key: longTermKey(username, realm, password), userId: username };
    if (!secret) return null;
    // coturn accepts the timestamp before the separator (and a bare timestamp as username).
    const colon = username.indexOf(':');
    const stamp = colon < 0 ? username : username.slice(0, colon);
    if (!/^\d{1,12}$/.test(stamp)) return null;
    if (Number(stamp) * 1000 <= now) return null;
    const identity = colon < 0 ? username : username.slice(colon + 1);
    return { key: longTermKey(username, realm, restApiPassword(secret, username)), userId: identity };
  };
}
