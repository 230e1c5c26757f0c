import { mintToken } from '../../signaling/tokens.js';
import type { TokenConfig } from './options.js';

/** Join tokens live this long: longer than any load test, so none expires mid-run. */
const TOKEN_TTL_SECONDS = 24 * 3600;

/** A token for `identity` in `room`: minted with the operator's key, or fetched from a development server. */
export async function fetchToken(config: TokenConfig, room: string, identity: string): Promise<string> {
  if (config.kind === 'key') return mintToken({ kid: config.kid, secret: config.secret, room, identity, ttlSeconds: TOKEN_TTL_SECONDS });
  const url = `${config.httpBase}/dev/token?room=${encodeURIComponent(room)}&identity=${encodeURIComponent(identity)}`;
  let response: Response;
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  } catch (error) {
    throw new TokenSourceError(`GET ${config.httpBase}/dev/token failed: ${reason(error)}`);
  }
  if (response.status === 404) throw new TokenSourceError(`${config.httpBase} serves no /dev/token (it has signing keys configured): use --api-key and --api-secret`);
  if (!response.ok) throw new TokenSourceError(`GET ${config.httpBase}/dev/token answered ${response.status}`);
  const { token } = (await response.json()) as { token?: string };
  if (!token) throw new TokenSourceError(`GET ${config.httpBase}/dev/token answered without a token`);
  return token;
}

export class TokenSourceError extends Error {
  readonly code = 'TOKEN_SOURCE';
}

/** fetch() fails with "fetch failed" and the real reason (ECONNREFUSED, a bad port) in its cause. */
function reason(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (error as Error).message;
}
