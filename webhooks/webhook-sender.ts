import type { Registry } from 'prom-client';
import type { Logger } from 'pino';
import { DeliveryQueue } from './delivery-queue.js';
import { newEventId, type WebhookEvent } from './webhook-event.js';
import { createWebhookMetrics } from './webhook-metrics.js';
import type { WebhookOptions } from './webhook-options.js';

export interface WebhookSenderDeps {
  /** The secret of `options.apiKey`. */
  secret: string;
  nodeId: string;
  logger: Logger;
  registry: Registry;
}

/** What an event needs besides what the sender fills in (id, createdAt, nodeId). */
export type WebhookEventInput = Omit<WebhookEvent, 'id' | 'createdAt' | 'nodeId'>;

/**
 * Sends each event to every configured URL, signed, asynchronously: `send` only queues (never waits for, nor
 * throws because of, a receiver). One DeliveryQueue per URL, so a receiver that is down delays only itself.
 */
export class WebhookSender {
  readonly #queues: DeliveryQueue[];
  readonly #options: WebhookOptions;
  readonly #nodeId: string;
  readonly #logger: Logger;
  #closing: Promise<void> | undefined;

  constructor(options: WebhookOptions, deps: WebhookSenderDeps) {
    this.#options = options;
    this.#nodeId = deps.nodeId;
    this.#logger = deps.logger;
    const metrics = createWebhookMetrics(deps.registry, () => this.queueLength);
    this.#queues = options.urls.map((url) => new DeliveryQueue(url, options, deps.secret, metrics, deps.logger.child({ url: redactUrl(url) })));
  }

  get queueLength(): number {
    return this.#queues.reduce((n, queue) => n + queue.length, 0);
  }

  /** Queues the event for every URL and returns at once with it (id and time filled in). */
  send(input: WebhookEventInput): WebhookEvent {
    const { event: name, ...fields } = input;
    const event: WebhookEvent = { event: name, id: newEventId(), createdAt: Date.now(), nodeId: this.#nodeId, ...fields };
    const delivery = { id: event.id, event: event.event, body: JSON.stringify(event), createdAt: event.createdAt };
    for (const queue of this.#queues) queue.push(delivery);
    return event;
  }

  /** Delivers what waits for up to `shutdownTimeoutMs`, then cuts and drops the rest. Idempotent; no timer or socket of ours remains. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      const waiting = this.queueLength;
      const deadline = performance.now() + this.#options.shutdownTimeoutMs;
      await Promise.all(this.#queues.map((queue) => queue.close(deadline)));
      if (waiting > 0) this.#logger.info({ waiting, left: this.queueLength }, 'webhooks closed');
    })();
    return this.#closing;
  }
}

/** The URL without credentials or query (they may hold secrets), for logs. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.origin}${parsed.pathname}`;
  } catch {
    return '(invalid url)';
  }
}
