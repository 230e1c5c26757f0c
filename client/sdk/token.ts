/** Reads a JWT's claims WITHOUT verifying it: only to pick defaults (the room); the server verifies. */
export interface TokenClaims {
  sub?: string;
  room?: string;
  name?: string;
  exp?: number;
  grants?: { canPublish?: boolean; canSubscribe?: boolean; canPublishData?: boolean };
}

export function decodeTokenClaims(token: string): TokenClaims | undefined {
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  try {
    const base64 = parts[1].replace(/-/g, '+').replace(/_/g, '/');
    const binary = atob(base64.padEnd(base64.length + ((4 - (base64.length % 4)) % 4), '='));
    const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
    const claims: unknown = JSON.parse(new TextDecoder().decode(bytes));
    if (typeof claims !== 'object' || claims === null || Array.isArray(claims)) return undefined;
    return claims as TokenClaims;
  } catch {
    return undefined;
  }
}
