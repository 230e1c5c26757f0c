import { randomBytes } from 'node:crypto';

/** A short random identifier with a prefix that says what it names (`TR_` track, `PA_` participant). */
export function randomId(prefix: string): string {
  return prefix + randomBytes(9).toString('base64url');
}
