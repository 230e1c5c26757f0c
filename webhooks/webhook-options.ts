/** How events are delivered to the configured receivers (config `webhooks`, docs/WEBHOOKS.md). */
export interface WebhookOptions {
  /** Receivers, each sent every event; empty: webhooks off. */
  urls: string[];
  /** The `auth.keys` kid whose secret signs the bodies (X-Tsfu-Key tells the receiver which). */
  apiKey: string;
  /** One attempt (connect, send, response headers) is given up after this. */
  timeoutMs: number;
  /** Events waiting per URL (besides the one being delivered); when full the oldest is dropped. */
  maxQueue: number;
  /** Attempts per event and URL, the first included; then it is counted `failed`. */
  maxAttempts: number;
  /** Backoff before retry n: a random delay between half and all of min(backoffMaxMs, backoffInitialMs × 2^(n-1)). */
  backoffInitialMs: number;
  backoffMaxMs: number;
  /** At shutdown, waiting events are delivered for up to this long; the rest are dropped. */
  shutdownTimeoutMs: number;
}

export const defaultWebhookOptions: WebhookOptions = {
  urls: [],
  apiKey: '',
  timeoutMs: 5000,
  maxQueue: 1000,
  maxAttempts: 8,
  backoffInitialMs: 500,
  backoffMaxMs: 30_000,
  shutdownTimeoutMs: 2000,
};
