// Long-term credential checks on a request (RFC 8489 §9.2.4), in the RFC's order:
// no MESSAGE-INTEGRITY -> 401 with REALM and NONCE; missing USERNAME/REALM/NONCE -> 400;
// invalid or expired NONCE -> 438 with a fresh NONCE; unknown USERNAME or bad integrity -> 401.
// Requests that end unauthenticated spend the source's rate-limit tokens; past it they are dropped.
import type { ClientRef } from './allocation.js';
import type { ResolvedUser } from './credentials.js';
import type { CoreContext } from './context.js';
import { decodeText } from './stun/attributes.js';
import { Attr, ErrorCode } from './stun/constants.js';
import { verifyIntegrity } from './stun/integrity.js';
import { findAttribute, type StunMessage } from './stun/message.js';
import { finish } from './responses.js';

export type AuthOutcome =
  | { readonly ok: true; readonly username: string; readonly user: ResolvedUser }
  | { readonly ok: false; readonly reply: Buffer | null };

const MAX_USERNAME = 513; // RFC 8489 §14.3
const MAX_TEXT = 763; // RFC 8489 §14.9-14.10 (REALM, NONCE: < 128 characters, up to 763 bytes)

function challenge(ctx: CoreContext, msg: StunMessage, code: number, now: number): Buffer {
  const b = ctx.responder.error(msg, code);
  b.addText(Attr.Realm, ctx.policy.realm);
  b.addText(Attr.Nonce, ctx.nonces.issue(now));
  return finish(b, null);
}

export function authenticate(ctx: CoreContext, client: ClientRef, msg: StunMessage, now: number): AuthOutcome {
  const drop = (): AuthOutcome | null =>
    ctx.unauthLimiter.allow(client.address, now) ? null : { ok: false, reply: null };
  if (msg.integrityOffset < 0) {
    return drop() ?? { ok: false, reply: challenge(ctx, msg, ErrorCode.Unauthorized, now) };
  }
  const u = findAttribute(msg, Attr.Username);
  const r = findAttribute(msg, Attr.Realm);
  const n = findAttribute(msg, Attr.Nonce);
  const username = u && decodeText(msg, u, MAX_USERNAME);
  const realm = r && decodeText(msg, r, MAX_TEXT);
  const nonce = n && decodeText(msg, n, MAX_TEXT);
  if (!username || !realm || !nonce) {
    return drop() ?? { ok: false, reply: finish(ctx.responder.error(msg, ErrorCode.BadRequest), null) };
  }
  if (ctx.nonces.check(nonce, now) !== 'valid') {
    return drop() ?? { ok: false, reply: challenge(ctx, msg, ErrorCode.StaleNonce, now) };
  }
  const user = ctx.policy.resolveCredentials(username, ctx.policy.realm, now);
  if (!user || !verifyIntegrity(msg, user.key)) {
    ctx.observer.authFailure?.(user ? 'bad-integrity' : 'unknown-user', client, username);
    return drop() ?? { ok: false, reply: challenge(ctx, msg, ErrorCode.Unauthorized, now) };
  }
  return { ok: true, username, user };
}
