import { SignJWT } from 'jose';
import { describe, expect, test } from 'vitest';
import { CloseCode, ErrorCode, SignalingError } from '../../../signaling/errors.js';
import { mintToken, TokenVerifier } from '../../../signaling/tokens.js';

const keys = { k1: 'first-secret-first-secret-first-secret!!', k2: 'second-secret-second-secret-second-sec!!' };
const verifier = new TokenVerifier(keys, 5);
const now = Date.UTC(2026, 0, 1);

async function refusal(token: string | undefined, at = now) {
  try {
    await verifier.verify(token, at);
  } catch (error) {
    expect(error).toBeInstanceOf(SignalingError);
    return { code: (error as SignalingError).code, close: (error as SignalingError).close };
  }
  throw new Error('token was accepted');
}

describe('token verification', () => {
  test('accepts a token signed with either active key (rotation) and reads its claims', async () => {
    for (const kid of ['k1', 'k2'] as const) {
      const token = await mintToken({ kid, secret: keys[kid], room: 'math', identity: 'ann', name: 'Ann', grants: { canPublishData: false }, now });
      const claims = await verifier.verify(token, now);
      expect(claims).toMatchObject({ identity: 'ann', room: 'math', name: 'Ann', grants: { canPublish: true, canSubscribe: true, canPublishData: false, roomAdmin: false } });
      expect(claims.expiresAt).toBe(now + 3600_000);
    }
  });

  const signed = (claims: Record<string, unknown>) =>
    new SignJWT({ room: 'r', ...claims }).setProtectedHeader({ alg: 'HS256', kid: 'k1' }).setSubject('x').setExpirationTime(now / 1000 + 60).sign(new TextEncoder().encode(keys.k1));

  test('grants absent from the token default to false, but roomCreate to true (older tokens opened rooms by joining)', async () => {
    const token = await signed({});
    expect((await verifier.verify(token, now)).grants).toEqual({
      canPublish: false,
      canSubscribe: false,
      canPublishData: false,
      roomAdmin: false,
      roomCreate: true,
      hidden: false,
      canUpdateOwnMetadata: false,
    });
  });

  test('an older token with only the first four grants reads as before, with no source limit', async () => {
    const claims = await verifier.verify(await signed({ grants: { canPublish: true, canSubscribe: true, canPublishData: true, roomAdmin: false } }), now);
    expect(claims.grants).toEqual({ canPublish: true, canSubscribe: true, canPublishData: true, roomAdmin: false, roomCreate: true, hidden: false, canUpdateOwnMetadata: false });
    expect(claims.grants.canPublishSources).toBeUndefined();
    expect(claims.metadata).toBeUndefined();
  });

  test('a teacher token says roomAdmin', async () => {
    const token = await mintToken({ kid: 'k1', secret: keys.k1, room: 'r', identity: 'teacher', grants: { roomAdmin: true }, now });
    expect((await verifier.verify(token, now)).grants).toMatchObject({ canPublish: true, canSubscribe: true, canPublishData: true, roomAdmin: true, roomCreate: true });
  });

  test('reads roomCreate, canPublishSources (deduplicated), hidden, canUpdateOwnMetadata and the metadata claim', async () => {
    const token = await mintToken({
      kid: 'k1',
      secret: keys.k1,
      room: 'r',
      identity: 'student',
      metadata: '{"hand":false}',
      grants: { roomCreate: false, canPublishSources: ['microphone', 'microphone', 'screen'], hidden: true, canUpdateOwnMetadata: true },
      now,
    });
    const claims = await verifier.verify(token, now);
    expect(claims.metadata).toBe('{"hand":false}');
    expect(claims.grants).toMatchObject({ roomCreate: false, canPublishSources: ['microphone', 'screen'], hidden: true, canUpdateOwnMetadata: true });
  });

  test('refuses malformed new grants and oversized metadata with TOKEN_INVALID', async () => {
    for (const claims of [
      { grants: { canPublishSources: 'camera' } },
      { grants: { canPublishSources: ['camera', 'webcam'] } },
      { grants: { canPublishSources: [1] } },
      { grants: { roomCreate: 'no' } },
      { grants: { hidden: 1 } },
      { grants: { canUpdateOwnMetadata: 'yes' } },
      { metadata: 42 },
      { metadata: 'x'.repeat(16_385) },
    ]) {
      expect(await refusal(await signed(claims)), JSON.stringify(claims).slice(0, 80)).toEqual({ code: ErrorCode.TOKEN_INVALID, close: CloseCode.UNAUTHORIZED });
    }
    await expect(verifier.verify(await signed({ metadata: 'x'.repeat(16_384) }), now)).resolves.toMatchObject({ metadata: 'x'.repeat(16_384) });
  });

  test('expiry is checked with the configured tolerance', async () => {
    const token = await mintToken({ kid: 'k1', secret: keys.k1, room: 'r', identity: 'x', ttlSeconds: 10, now });
    await expect(verifier.verify(token, now + 14_000)).resolves.toBeDefined();
    expect(await refusal(token, now + 16_000)).toEqual({ code: ErrorCode.TOKEN_EXPIRED, close: CloseCode.TOKEN_EXPIRED });
  });

  test('not-before is enforced', async () => {
    const token = await mintToken({ kid: 'k1', secret: keys.k1, room: 'r', identity: 'x', notBeforeSeconds: 60, now });
    expect(await refusal(token)).toEqual({ code: ErrorCode.TOKEN_NOT_YET_VALID, close: CloseCode.UNAUTHORIZED });
    await expect(verifier.verify(token, now + 61_000)).resolves.toBeDefined();
  });

  test('refuses a missing token, a wrong key, a missing kid, another algorithm and missing claims', async () => {
    expect(await refusal(undefined)).toEqual({ code: ErrorCode.TOKEN_MISSING, close: CloseCode.UNAUTHORIZED });
    const wrongKey = await mintToken({ kid: 'k1', secret: keys.k2, room: 'r', identity: 'x', now });
    expect((await refusal(wrongKey)).code).toBe(ErrorCode.TOKEN_INVALID);
    const noKid = await new SignJWT({ room: 'r' }).setProtectedHeader({ alg: 'HS256' }).setSubject('x').setExpirationTime(now / 1000 + 60).sign(new TextEncoder().encode(keys.k1));
    expect((await refusal(noKid)).code).toBe(ErrorCode.TOKEN_INVALID);
    const hs512 = await new SignJWT({ room: 'r' }).setProtectedHeader({ alg: 'HS512', kid: 'k1' }).setSubject('x').setExpirationTime(now / 1000 + 60).sign(new TextEncoder().encode(keys.k1 + keys.k1));
    expect((await refusal(hs512)).code).toBe(ErrorCode.TOKEN_INVALID);
    const noExp = await new SignJWT({ room: 'r' }).setProtectedHeader({ alg: 'HS256', kid: 'k1' }).setSubject('x').sign(new TextEncoder().encode(keys.k1));
    expect((await refusal(noExp)).code).toBe(ErrorCode.TOKEN_INVALID);
    const noRoom = await new SignJWT({}).setProtectedHeader({ alg: 'HS256', kid: 'k1' }).setSubject('x').setExpirationTime(now / 1000 + 60).sign(new TextEncoder().encode(keys.k1));
    expect(await refusal(noRoom)).toMatchObject({ code: ErrorCode.TOKEN_INVALID });
  });

  test('a tampered payload does not verify', async () => {
    const token = await mintToken({ kid: 'k1', secret: keys.k1, room: 'r', identity: 'x', grants: { canPublish: false }, now });
    const [h, p, s] = token.split('.');
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString());
    claims.grants.canPublish = true;
    const tampered = [h, Buffer.from(JSON.stringify(claims)).toString('base64url'), s].join('.');
    expect((await refusal(tampered)).code).toBe(ErrorCode.TOKEN_INVALID);
  });
});
