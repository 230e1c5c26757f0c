import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export type DeliveryResult = 'delivered' | 'retried' | 'failed' | 'dropped';

export interface WebhookMetrics {
  deliveries: Counter<'result'>;
  /** From the event's creation to its receiver's 2xx, retries included. */
  deliverySeconds: Histogram;
}

export function createWebhookMetrics(registry: Registry, queueLength: () => number): WebhookMetrics {
  new Gauge({
    name: 'tsfu_webhook_queue_length',
    help: 'Webhook deliveries waiting or in progress, all URLs together',
    registers: [registry],
    collect() {
      this.set(queueLength());
    },
  });
  return {
    deliveries: new Counter({
      name: 'tsfu_webhook_deliveries_total',
      help: 'Webhook deliveries by result: delivered (2xx), retried (an attempt failed, another follows), failed (given up), dropped (queue full or shutdown)',
      labelNames: ['result'],
      registers: [registry],
    }),
    deliverySeconds: new Histogram({
      name: 'tsfu_webhook_delivery_seconds',
      help: 'Time from a webhook event to its receiver accepting it, retries included',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers: [registry],
    }),
  };
}
