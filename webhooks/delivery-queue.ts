import type { Logger } from 'pino';
import { backoffDelayMs, isRetryableStatus, retryAfterMs } from './backoff.js';
import { KEY_HEADER, signWebhook, SIGNATURE_HEADER } from './signature.js';
import type { WebhookMetrics } from './webhook-metrics.js';
import type { WebhookOptions } from './webhook-options.js';

/** One event's body, serialized once for every URL. */
export interface PendingDelivery {
  id: string;
  event: string;
  body: string;
  createdAt: number;
}

type AttemptOutcome = { kind: 'delivered' } | { kind: 'retry'; why: string; afterMs?: number } | { kind: 'refused'; why: string };

/**
 * The deliveries to one URL, one at a time and in order: the head is retried (with backoff) until it is
 * delivered or given up, so a receiver sees a room's events in the order they happened. Bounded: when
 * `maxQueue` events wait, the oldest waiting one is dropped.
 */
export class DeliveryQueue {
  readonly #url: string;
  readonly #options: WebhookOptions;
  readonly #secret: string;
  readonly #metrics: WebhookMetrics;
  readonly #logger: Logger;
  readonly #waiting: PendingDelivery[] = [];
  #inFlight = false;
  #running: Promise<void> | undefined;
  /** Aborted at the end of the shutdown deadline: cuts the attempt or backoff wait in progress. */
  readonly #abort = new AbortController();
  #closing = false;
  #droppingSince = 0;

  constructor(url: string, options: WebhookOptions, secret: string, metrics: WebhookMetrics, logger: Logger) {
    this.#url = url;
    this.#options = options;
    this.#secret = secret;
    this.#metrics = metrics;
    this.#logger = logger;
  }

  /** Waiting plus the one being delivered. */
  get length(): number {
    return this.#waiting.length + (this.#inFlight ? 1 : 0);
  }

  push(delivery: PendingDelivery): void {
    if (this.#closing) return this.#drop(delivery, 'closing');
    if (this.#waiting.length >= this.#options.maxQueue) this.#drop(this.#waiting.shift()!, 'queue full');
    this.#waiting.push(delivery);
    // Started on a later microtask: the caller (an SFU event listener) returns before any I/O begins.
    this.#running ??= Promise.resolve().then(() => this.#run());
  }

  /** Stops taking events; what waits is delivered until `deadline` (performance.now() ms), then cut and dropped. */
  async close(deadline: number): Promise<void> {
    this.#closing = true;
    const timer = setTimeout(() => this.#abort.abort(), Math.max(0, deadline - performance.now()));
    try {
      await this.#running;
    } finally {
      clearTimeout(timer);
      this.#abort.abort();
    }
  }

  async #run(): Promise<void> {
    while (this.#waiting.length > 0) {
      if (this.#abort.signal.aborted) {
        for (const delivery of this.#waiting.splice(0)) this.#drop(delivery, 'shutdown');
        break;
      }
      const delivery = this.#waiting.shift()!;
      this.#inFlight = true;
      try {
        await this.#deliver(delivery);
      } finally {
        this.#inFlight = false;
      }
    }
    this.#running = undefined;
  }

  async #deliver(delivery: PendingDelivery): Promise<void> {
    const { maxAttempts, backoffInitialMs, backoffMaxMs } = this.#options;
    // The logger carries the URL, without its query or credentials (WebhookSender's child logger).
    const log = { eventId: delivery.id, event: delivery.event };
    for (let attempt = 1; ; attempt++) {
      const outcome = await this.#attempt(delivery);
      if (outcome.kind === 'delivered') {
        this.#metrics.deliveries.inc({ result: 'delivered' });
        this.#metrics.deliverySeconds.observe((Date.now() - delivery.createdAt) / 1000);
        this.#droppingSince = 0;
        this.#logger.debug({ ...log, attempt, delayMs: Date.now() - delivery.createdAt }, 'webhook delivered');
        return;
      }
      if (this.#abort.signal.aborted) return this.#drop(delivery, 'shutdown');
      if (outcome.kind === 'refused' || attempt >= maxAttempts) {
        this.#metrics.deliveries.inc({ result: 'failed' });
        this.#logger.warn({ ...log, attempt, why: outcome.why }, outcome.kind === 'refused' ? 'webhook refused by its receiver; not retried' : 'webhook given up after its last attempt');
        return;
      }
      this.#metrics.deliveries.inc({ result: 'retried' });
      const waitMs = Math.min(backoffMaxMs, outcome.afterMs ?? backoffDelayMs(attempt, backoffInitialMs, backoffMaxMs));
      this.#logger.info({ ...log, attempt, why: outcome.why, retryInMs: waitMs }, 'webhook attempt failed; retrying');
      if (!(await this.#sleep(waitMs))) return this.#drop(delivery, 'shutdown');
    }
  }

  async #attempt(delivery: PendingDelivery): Promise<AttemptOutcome> {
    const attempt = new AbortController();
    const onAbort = () => attempt.abort();
    this.#abort.signal.addEventListener('abort', onAbort, { once: true });
    const timer = setTimeout(() => attempt.abort(), this.#options.timeoutMs);
    try {
      const response = await fetch(this.#url, {
        method: 'POST',
        body: delivery.body,
        headers: { 'content-type': 'application/json', [SIGNATURE_HEADER]: signWebhook(delivery.body, this.#secret), [KEY_HEADER]: this.#options.apiKey },
        signal: attempt.signal,
        redirect: 'manual',
      });
      // The body is not read: dropping it frees the connection for the next delivery.
      await response.body?.cancel().catch(() => {});
      if (response.status >= 200 && response.status < 300) return { kind: 'delivered' };
      const why = `HTTP ${response.status}`;
      return isRetryableStatus(response.status) ? { kind: 'retry', why, afterMs: retryAfterMs(response.headers.get('retry-after')) } : { kind: 'refused', why };
    } catch (error) {
      const why = attempt.signal.aborted && !this.#abort.signal.aborted ? `timeout after ${this.#options.timeoutMs} ms` : errorText(error);
      return { kind: 'retry', why };
    } finally {
      clearTimeout(timer);
      this.#abort.signal.removeEventListener('abort', onAbort);
    }
  }

  /** Resolves true after `ms`, or false at once when the queue is cut at shutdown. */
  #sleep(ms: number): Promise<boolean> {
    const signal = this.#abort.signal;
    if (signal.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      const onAbort = () => {
        clearTimeout(timer);
        resolve(false);
      };
      const timer = setTimeout(() => {
        signal.removeEventListener('abort', onAbort);
        resolve(true);
      }, ms);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  #drop(delivery: PendingDelivery, why: string): void {
    this.#metrics.deliveries.inc({ result: 'dropped' });
    // One warning per run of drops (a receiver down for long drops thousands), the rest at debug.
    const level = this.#droppingSince++ === 0 ? 'warn' : 'debug';
    this.#logger[level]({ eventId: delivery.id, event: delivery.event, why, droppedInARow: this.#droppingSince }, 'webhook dropped');
  }
}

function errorText(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error));
}
