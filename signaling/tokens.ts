import { SignJWT, errors, jwtVerify, type JWTPayload } from 'jose';
import { CloseCode, ErrorCode, SignalingError } from './errors.js';
import { MAX_METADATA_CHARS, TRACK_SOURCES, type TrackSourceName } from './messages.js';

export interface TokenGrants {
  canPublish: boolean;
  canSubscribe: boolean;
  canPublishData: boolean;
  /** The room's teacher (moderator). Absent in older tokens: false. */
  roomAdmin: boolean;
  /** May open the room by joining it. Absent (older tokens): true. */
  roomCreate: boolean;
  /** The sources it may publish; absent: all. */
  canPublishSources?: TrackSourceName[];
  /** An observer (recorder): invisible to others, publishes nothing. Absent: false. */
  hidden: boolean;
  /** May change its own metadata and name. Absent: false. */
  canUpdateOwnMetadata: boolean;
}

/** What a verified join token says (docs/PROTOCOL.md, "Token"). */
export interface TokenClaims {
  identity: string;
  room: string;
  name?: string;
  /** The participant's initial metadata (top-level `metadata` claim). */
  metadata?: string;
  grants: TokenGrants;
  expiresAt: number;
}

/** HS256 keys by `kid`; several may be active at once so keys can be rotated. */
export type SigningKeys = Readonly<Record<string, string>>;

const ALGORITHM = 'HS256';
const encoder = new TextEncoder();

export class TokenVerifier {
  readonly #keys: Map<string, Uint8Array>;

  constructor(
    keys: SigningKeys,
    private readonly clockToleranceSeconds: number,
  ) {
    this.#keys = new Map(Object.entries(keys).map(([kid, secret]) => [kid, encoder.encode(secret)]));
  }

  /** Verifies signature, algorithm, kid, exp and nbf; throws a SignalingError with the code to send. */
  async verify(token: string | undefined, now = Date.now()): Promise<TokenClaims> {
    if (!token) throw new SignalingError(ErrorCode.TOKEN_MISSING, 'join needs a token', CloseCode.UNAUTHORIZED);
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(
        token,
        (header) => {
          if (!header.kid) throw new SignalingError(ErrorCode.TOKEN_INVALID, 'token header has no kid', CloseCode.UNAUTHORIZED);
          const key = this.#keys.get(header.kid);
          if (!key) throw new SignalingError(ErrorCode.TOKEN_INVALID, `unknown key id "${header.kid}"`, CloseCode.UNAUTHORIZED);
          return key;
        },
        {
          algorithms: [ALGORITHM],
          requiredClaims: ['exp', 'sub'],
          clockTolerance: this.clockToleranceSeconds,
          currentDate: new Date(now),
        },
      ));
    } catch (error) {
      throw toSignalingError(error);
    }
    return claimsOf(payload);
  }
}

function toSignalingError(error: unknown): SignalingError {
  if (error instanceof SignalingError) return error;
  if (error instanceof errors.JWTExpired) return new SignalingError(ErrorCode.TOKEN_EXPIRED, 'token has expired', CloseCode.TOKEN_EXPIRED);
  if (error instanceof errors.JWTClaimValidationFailed && error.claim === 'nbf') {
    return new SignalingError(ErrorCode.TOKEN_NOT_YET_VALID, 'token is not valid yet (nbf)', CloseCode.UNAUTHORIZED);
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) {
    return new SignalingError(ErrorCode.TOKEN_INVALID, 'token signature does not verify', CloseCode.UNAUTHORIZED);
  }
  const reason = error instanceof Error ? error.message : String(error);
  return new SignalingError(ErrorCode.TOKEN_INVALID, `token rejected: ${reason}`, CloseCode.UNAUTHORIZED);
}

function claimsOf(payload: JWTPayload): TokenClaims {
  const invalid = (message: string) => new SignalingError(ErrorCode.TOKEN_INVALID, message, CloseCode.UNAUTHORIZED);
  const { sub, room, name, grants, exp, metadata } = payload as JWTPayload & { room?: unknown; name?: unknown; grants?: unknown; metadata?: unknown };
  if (typeof sub !== 'string' || sub.length === 0 || sub.length > 128) throw invalid('token sub (identity) must be a non-empty string of at most 128 characters');
  if (typeof room !== 'string' || room.length === 0 || room.length > 128) throw invalid('token room must be a non-empty string of at most 128 characters');
  if (name !== undefined && typeof name !== 'string') throw invalid('token name must be a string');
  if (grants !== undefined && (typeof grants !== 'object' || grants === null)) throw invalid('token grants must be an object');
  if (metadata !== undefined && (typeof metadata !== 'string' || metadata.length > MAX_METADATA_CHARS)) throw invalid(`token metadata must be a string of at most ${MAX_METADATA_CHARS} characters`);
  const g = (grants ?? {}) as Record<string, unknown>;
  const sources = g.canPublishSources;
  if (sources !== undefined && (!Array.isArray(sources) || sources.some((s) => typeof s !== 'string' || !TRACK_SOURCES.includes(s as TrackSourceName)))) {
    throw invalid(`token grants.canPublishSources must be an array of ${TRACK_SOURCES.join(', ')}`);
  }
  for (const flag of ['roomCreate', 'hidden', 'canUpdateOwnMetadata', 'roomAdmin'] as const) {
    if (g[flag] !== undefined && typeof g[flag] !== 'boolean') throw invalid(`token grants.${flag} must be a boolean`);
  }
  return {
    identity: sub,
    room,
    ...(name ? { name } : {}),
    ...(metadata !== undefined ? { metadata } : {}),
    grants: {
      canPublish: g.canPublish === true,
      canSubscribe: g.canSubscribe === true,
      canPublishData: g.canPublishData === true,
      roomAdmin: g.roomAdmin === true,
      // Older tokens had no such grant and could open a room by joining it.
      roomCreate: g.roomCreate !== false,
      ...(sources !== undefined ? { canPublishSources: [...new Set(sources as TrackSourceName[])] } : {}),
      hidden: g.hidden === true,
      canUpdateOwnMetadata: g.canUpdateOwnMetadata === true,
    },
    expiresAt: (exp ?? 0) * 1000,
  };
}

export interface MintTokenOptions {
  kid: string;
  secret: string;
  room: string;
  identity: string;
  name?: string;
  /** The participant's initial metadata. */
  metadata?: string;
  grants?: Partial<TokenGrants>;
  ttlSeconds?: number;
  /** Seconds from now before which the token is not valid. */
  notBeforeSeconds?: number;
  now?: number;
}

/** Mints a join token (used by `npm run token`, the development endpoint and the tests). */
export async function mintToken(options: MintTokenOptions): Promise<string> {
  const nowSeconds = Math.floor((options.now ?? Date.now()) / 1000);
  // The newer grants are written only when given: a token without them reads as before (roomCreate true, no limits).
  const grants: Partial<TokenGrants> = { canPublish: true, canSubscribe: true, canPublishData: true, roomAdmin: false, ...options.grants };
  const claims = { room: options.room, grants, ...(options.name ? { name: options.name } : {}), ...(options.metadata !== undefined ? { metadata: options.metadata } : {}) };
  const jwt = new SignJWT(claims)
    .setProtectedHeader({ alg: ALGORITHM, kid: options.kid, typ: 'JWT' })
    .setSubject(options.identity)
    .setIssuedAt(nowSeconds)
    .setExpirationTime(nowSeconds + (options.ttlSeconds ?? 3600));
  if (options.notBeforeSeconds) jwt.setNotBefore(nowSeconds + options.notBeforeSeconds);
  return jwt.sign(encoder.encode(options.secret));
}
