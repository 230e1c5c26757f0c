import { SignJWT, errors, jwtVerify, type JWTPayload } from 'jose';

/**
 * Admin tokens: JWTs signed (HS256) with one of auth.keys, like join tokens, but for the operator's HTTP endpoints.
 * They carry `aud: "tsfu:admin"` and the operations they allow in `admin` (`{"drain": true}`), and no `room`: a join
 * token (no such audience or claim) cannot drain a node, and an admin token cannot join a room.
 */
export const ADMIN_AUDIENCE = 'tsfu:admin';

export interface AdminGrants {
  /** POST /admin/drain: take no new rooms, move the clients elsewhere, exit. */
  drain: boolean;
}

export interface AdminClaims {
  /** `sub`: who asked (logged). */
  operator: string;
  grants: AdminGrants;
}

/** 401: no token, or one that does not verify; 403: a valid token that does not grant the operation. */
export class AdminAuthError extends Error {
  constructor(
    readonly statusCode: 401 | 403,
    readonly code: 'UNAUTHORIZED' | 'FORBIDDEN',
    message: string,
  ) {
    super(message);
    this.name = 'AdminAuthError';
  }
}

export const ALGORITHM = 'HS256';
const encoder = new TextEncoder();

export interface BearerTokenCheck {
  /** The audience the endpoint serves; a token for another one is refused with 403 naming `kind`. */
  audience: string;
  /** "an admin token", "an API token": for the messages. */
  kind: string;
  /** How to get such a token, said when none is sent. */
  hint: string;
  clockToleranceSeconds: number;
  requiredClaims?: string[];
  now?: number;
}

/**
 * Verifies an `Authorization: Bearer <jwt>` header: HS256 with the secret of its `kid` in `keys`, unexpired, for
 * `check.audience`. Shared by the operator's endpoints and the room service API (server/room-api/api-token.ts).
 * 401 for no token or one that does not verify, 403 for a valid token meant for another audience.
 */
export async function verifyBearerToken(authorization: string | undefined, keys: Readonly<Record<string, string>>, check: BearerTokenCheck): Promise<{ payload: JWTPayload; kid: string }> {
  const unauthorized = (message: string) => new AdminAuthError(401, 'UNAUTHORIZED', message);
  const match = /^Bearer\s+(\S+)$/i.exec(authorization ?? '');
  if (!match) throw unauthorized(`${check.kind} is needed: Authorization: Bearer <token> (${check.hint})`);
  let payload: JWTPayload;
  let kid: string;
  try {
    let protectedHeader: { kid?: string };
    ({ payload, protectedHeader } = await jwtVerify(
      match[1],
      (header) => {
        const secret = header.kid === undefined ? undefined : keys[header.kid];
        if (secret === undefined) throw unauthorized(`unknown key id "${header.kid ?? ''}"`);
        return encoder.encode(secret);
      },
      { algorithms: [ALGORITHM], requiredClaims: ['exp', ...(check.requiredClaims ?? [])], clockTolerance: check.clockToleranceSeconds, currentDate: new Date(check.now ?? Date.now()) },
    ));
    kid = protectedHeader.kid!; // the key lookup above refused a token without one
  } catch (error) {
    if (error instanceof AdminAuthError) throw error;
    if (error instanceof errors.JWTExpired) throw unauthorized('token has expired');
    if (error instanceof errors.JWSSignatureVerificationFailed) throw unauthorized('token signature does not verify');
    throw unauthorized(`token rejected: ${error instanceof Error ? error.message : String(error)}`);
  }
  const audiences = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
  if (!audiences.includes(check.audience)) throw new AdminAuthError(403, 'FORBIDDEN', `not ${check.kind} (audience "${check.audience}")`);
  return { payload, kid };
}

/** Verifies an `Authorization: Bearer <jwt>` header and that the token grants `operation`. */
export async function verifyAdminToken(
  authorization: string | undefined,
  keys: Readonly<Record<string, string>>,
  operation: keyof AdminGrants,
  clockToleranceSeconds: number,
): Promise<AdminClaims> {
  const { payload } = await verifyBearerToken(authorization, keys, {
    audience: ADMIN_AUDIENCE,
    kind: 'an admin token',
    hint: 'npm run token -- --admin-drain',
    clockToleranceSeconds,
    requiredClaims: ['sub'],
  }).catch((error: unknown) => {
    // A join token has no such audience: say what it cannot do.
    if (error instanceof AdminAuthError && error.statusCode === 403) throw new AdminAuthError(403, 'FORBIDDEN', `${error.message}: a join token cannot ${operation}`);
    throw error;
  });
  const admin = (payload as { admin?: unknown }).admin;
  const grants: AdminGrants = { drain: typeof admin === 'object' && admin !== null && (admin as Record<string, unknown>).drain === true };
  if (!grants[operation]) throw new AdminAuthError(403, 'FORBIDDEN', `this admin token does not grant "${operation}"`);
  return { operator: String(payload.sub), grants };
}

export interface MintAdminTokenOptions {
  kid: string;
  secret: string;
  operator: string;
  grants: Partial<AdminGrants>;
  ttlSeconds?: number;
  now?: number;
}

/** Mints an admin token (`npm run token -- --admin-drain`, tests). */
export async function mintAdminToken(options: MintAdminTokenOptions): Promise<string> {
  const nowSeconds = Math.floor((options.now ?? Date.now()) / 1000);
  return new SignJWT({ admin: { drain: options.grants.drain === true } })
    .setProtectedHeader({ alg: ALGORITHM, kid: options.kid, typ: 'JWT' })
    .setSubject(options.operator)
    .setAudience(ADMIN_AUDIENCE)
    .setIssuedAt(nowSeconds)
    .setExpirationTime(nowSeconds + (options.ttlSeconds ?? 900))
    .sign(encoder.encode(options.secret));
}
