import { SignJWT } from 'jose';
import { ALGORITHM, AdminAuthError, verifyBearerToken } from '../admin-token.js';

/**
 * Room service API tokens (docs/API.md, "Authentication"): JWTs signed (HS256) with one of auth.keys, the `kid` being
 * the API key, with `aud: "tsfu:api"`, an `exp` at most MAX_API_TOKEN_TTL_SECONDS ahead (a leaked one is worth little)
 * and `grants`. Neither a join token nor an admin token passes (another audience), and an API token joins no room.
 */
export const API_AUDIENCE = 'tsfu:api';
export const MAX_API_TOKEN_TTL_SECONDS = 600;

export interface ApiGrants {
  /** POST and DELETE /api/v1/rooms. */
  roomCreate: boolean;
  /** GET /api/v1/rooms (every room of the cluster) and any room's participants. */
  roomList: boolean;
  /** Moderate a room: metadata, data, participants. */
  roomAdmin: boolean;
  /** When set, roomCreate and roomAdmin hold for this room only. */
  room?: string;
}

export type ApiGrant = 'roomCreate' | 'roomList' | 'roomAdmin';

export interface ApiClaims {
  /** The `kid`: which API key signed it (logged). */
  apiKey: string;
  /** `sub`, when set: who asked (logged). */
  subject?: string;
  grants: ApiGrants;
}

const encoder = new TextEncoder();

/** Verifies the request's `Authorization` header; throws AdminAuthError (401 or 403) with the reason. */
export async function verifyApiToken(authorization: string | undefined, keys: Readonly<Record<string, string>>, clockToleranceSeconds: number, now = Date.now()): Promise<ApiClaims> {
  const { payload, kid } = await verifyBearerToken(authorization, keys, {
    audience: API_AUDIENCE,
    kind: 'an API token',
    hint: 'mint one with the API key and secret, see docs/API.md',
    clockToleranceSeconds,
    now,
  });
  const ahead = (payload.exp ?? 0) - Math.floor(now / 1000);
  if (ahead > MAX_API_TOKEN_TTL_SECONDS + clockToleranceSeconds) {
    throw new AdminAuthError(401, 'UNAUTHORIZED', `token expires ${ahead} s from now; API tokens may live at most ${MAX_API_TOKEN_TTL_SECONDS} s (mint a short-lived one per request or per minute)`);
  }
  const raw = (payload as { grants?: unknown }).grants;
  const g = typeof raw === 'object' && raw !== null ? (raw as Record<string, unknown>) : {};
  if (g.room !== undefined && (typeof g.room !== 'string' || g.room.length === 0 || g.room.length > 128)) {
    throw new AdminAuthError(401, 'UNAUTHORIZED', 'token grants.room must be a room name of 1 to 128 characters');
  }
  return {
    apiKey: kid,
    ...(typeof payload.sub === 'string' ? { subject: payload.sub } : {}),
    grants: { roomCreate: g.roomCreate === true, roomList: g.roomList === true, roomAdmin: g.roomAdmin === true, ...(typeof g.room === 'string' ? { room: g.room } : {}) },
  };
}

/**
 * Throws 403 unless the claims grant `grant` (for `room` when the grant is per room). `room`-scoped tokens hold
 * roomCreate and roomAdmin for that room only; roomList is cluster-wide.
 */
export function authorize(claims: ApiClaims, grant: ApiGrant, room?: string): void {
  const { grants } = claims;
  if (!grants[grant]) throw new AdminAuthError(403, 'FORBIDDEN', `this API token does not grant "${grant}"`);
  if (grant !== 'roomList' && room !== undefined && grants.room !== undefined && grants.room !== room) {
    throw new AdminAuthError(403, 'FORBIDDEN', `this API token's "${grant}" is for room "${grants.room}", not "${room}"`);
  }
}

/** Whether the claims grant `grant` (see `authorize`). */
export function grants(claims: ApiClaims, grant: ApiGrant, room?: string): boolean {
  try {
    authorize(claims, grant, room);
    return true;
  } catch {
    return false;
  }
}

export interface MintApiTokenOptions {
  /** The API key: a kid of auth.keys. */
  apiKey: string;
  /** Its secret. */
  secret: string;
  grants: Partial<ApiGrants>;
  /** Default 60 s; at most MAX_API_TOKEN_TTL_SECONDS is accepted by servers. */
  ttlSeconds?: number;
  subject?: string;
  now?: number;
}

/** Mints an API token (the Node client, `npm run rooms`, tests). */
export async function mintApiToken(options: MintApiTokenOptions): Promise<string> {
  const nowSeconds = Math.floor((options.now ?? Date.now()) / 1000);
  const jwt = new SignJWT({ grants: options.grants })
    .setProtectedHeader({ alg: ALGORITHM, kid: options.apiKey, typ: 'JWT' })
    .setAudience(API_AUDIENCE)
    .setIssuedAt(nowSeconds)
    .setExpirationTime(nowSeconds + (options.ttlSeconds ?? 60));
  if (options.subject) jwt.setSubject(options.subject);
  return jwt.sign(encoder.encode(options.secret));
}
