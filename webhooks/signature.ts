import { createHmac, timingSafeEqual } from 'node:crypto';

/** Header carrying `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, t + "." + body)>` (Stripe's scheme: the timestamp is signed, against replays). */
export const SIGNATURE_HEADER = 'x-tsfu-signature';
/** Header naming the `auth.keys` kid whose secret signed the body. */
export const KEY_HEADER = 'x-tsfu-key';

function hmacHex(secret: string, timestamp: number, body: string): string {
  return createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
}

/** The X-Tsfu-Signature value for `body` sent at `nowSeconds`. */
export function signWebhook(body: string, secret: string, nowSeconds = Math.floor(Date.now() / 1000)): string {
  return `t=${nowSeconds},v1=${hmacHex(secret, nowSeconds, body)}`;
}

/**
 * For receivers: true when `header` (X-Tsfu-Signature) signs exactly `body` (the raw request body, before any
 * JSON parsing) under `secret`, with a timestamp at most `toleranceSec` from now. Compared in constant time.
 */
export function verifyWebhook(body: string | Buffer, header: string | undefined, secret: string, toleranceSec = 300, nowSeconds = Math.floor(Date.now() / 1000)): boolean {
  if (!header) return false;
  let timestamp: number | undefined;
  const signatures: string[] = [];
  for (const part of header.split(',')) {
    const at = part.indexOf('=');
    const key = part.slice(0, at).trim();
    const value = part.slice(at + 1).trim();
    if (key === 't' && /^\d{1,12}$/.test(value)) timestamp = Number(value);
    else if (key === 'v1' && /^[0-9a-f]{64}$/.test(value)) signatures.push(value);
  }
  if (timestamp === undefined || signatures.length === 0 || Math.abs(nowSeconds - timestamp) > toleranceSec) return false;
  const expected = Buffer.from(hmacHex(secret, timestamp, typeof body === 'string' ? body : body.toString('utf8')), 'hex');
  return signatures.some((signature) => timingSafeEqual(Buffer.from(signature, 'hex'), expected));
}
