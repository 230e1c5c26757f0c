import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterEach, expect, test } from 'vitest';
import { defaultWebhookOptions, WebhookSender, type WebhookEvent, type WebhookOptions } from '../../webhooks/index.js';
import { reportMeasurement } from '../helpers/bench-report.js';
import { waitUntil } from '../helpers/bot.js';
import { WebhookReceiver } from '../helpers/webhook-receiver.js';

const KID = 'hooks';
const SECRET = 'webhook-secret-webhook-secret-0123456789';
const opened: { sender: WebhookSender; receiver: WebhookReceiver }[] = [];

async function setUp(options: Partial<WebhookOptions> = {}) {
  const receiver = await new WebhookReceiver(SECRET).start();
  const registry = new Registry();
  const sender = new WebhookSender(
    { ...defaultWebhookOptions, backoffInitialMs: 100, backoffMaxMs: 800, timeoutMs: 1000, ...options, urls: [receiver.url], apiKey: KID },
    { secret: SECRET, nodeId: 'node-a', logger: pino({ level: process.env.TSFU_TEST_LOG_LEVEL ?? 'silent' }), registry },
  );
  opened.push({ sender, receiver });
  return { receiver, sender, registry };
}

async function deliveries(registry: Registry, result: string): Promise<number> {
  const metric = (await registry.getSingleMetric('tsfu_webhook_deliveries_total')!.get()).values.find((v) => v.labels.result === result);
  return metric?.value ?? 0;
}

const send = (sender: WebhookSender, n: number) => Array.from({ length: n }, (_, i) => sender.send({ event: 'participant_joined', room: { name: 'r', sid: 'RM_1' }, participant: { identity: `p${i}`, sid: `PA_${i}` } }));

afterEach(async () => {
  for (const { sender, receiver } of opened.splice(0)) {
    await sender.close();
    await receiver.stop();
  }
});

test('events sent while the receiver refuses connections, then answers 503, are all delivered once, in order, when it is back', async () => {
  const { receiver, sender, registry } = await setUp({ maxAttempts: 50 });
  await receiver.stop();
  const outageStart = Date.now();
  const events: WebhookEvent[] = [];
  // 1.5 s refused, 1.5 s of 503s, an event every 100 ms meanwhile.
  for (let i = 0; i < 15; i++) {
    events.push(...send(sender, 1));
    await new Promise((r) => setTimeout(r, 100));
  }
  receiver.mode = 503;
  await receiver.start();
  for (let i = 0; i < 15; i++) {
    events.push(...send(sender, 1));
    await new Promise((r) => setTimeout(r, 100));
  }
  receiver.mode = 200;
  const backAt = Date.now();
  await waitUntil(() => receiver.delivered.length === events.length, 10_000, 'every event delivered');
  expect(receiver.delivered.map((d) => d.event.id)).toEqual(events.map((e) => e.id));
  expect(receiver.delivered.every((d) => d.verified && d.key === KID)).toBe(true);
  expect(receiver.requests.filter((r) => r.event.id === events[0].id).length).toBeGreaterThan(1);
  // The receiver records a delivery before the sender reads its 2xx.
  await waitUntil(async () => (await deliveries(registry, 'delivered')) === events.length, 2000, 'the last 2xx counted');
  expect(await deliveries(registry, 'retried')).toBeGreaterThan(0);
  expect(await deliveries(registry, 'failed') + (await deliveries(registry, 'dropped'))).toBe(0);
  const allDeliveredAfterBack = receiver.delivered.at(-1)!.receivedAt - backAt;
  const worstDelay = Math.max(...receiver.delivered.map((d) => d.receivedAt - d.event.createdAt));
  reportMeasurement('webhook_outage_ms', backAt - outageStart);
  reportMeasurement('webhook_all_delivered_after_recovery_ms', allDeliveredAfterBack);
  reportMeasurement('webhook_worst_event_delay_ms', worstDelay);
  // The head waits out at most one backoff (≤ backoffMaxMs) after recovery; the rest follow back to back.
  expect(allDeliveredAfterBack).toBeLessThan(800 + 2000);
  expect(sender.queueLength).toBe(0);
});

test('with the receiver down and a queue of 3, the oldest waiting events are dropped and counted', async () => {
  const { receiver, sender, registry } = await setUp({ maxQueue: 3, maxAttempts: 100, backoffMaxMs: 200 });
  await receiver.stop();
  const events = send(sender, 1);
  // The first is in flight (retrying) before the rest arrive.
  await waitUntil(async () => (await deliveries(registry, 'retried')) > 0, 5000, 'a first retry');
  events.push(...send(sender, 9));
  expect(await deliveries(registry, 'dropped')).toBe(6);
  expect(sender.queueLength).toBe(4);
  await receiver.start();
  await waitUntil(() => receiver.delivered.length === 4, 5000, 'the kept events delivered');
  // The one in flight, then the newest three.
  expect(receiver.delivered.map((d) => d.event.id)).toEqual([events[0], ...events.slice(7)].map((e) => e.id));
  await waitUntil(() => sender.queueLength === 0, 2000, 'the last 2xx read');
  const text = await registry.metrics();
  expect(text).toMatch(/tsfu_webhook_deliveries_total\{result="dropped"\} 6/);
  expect(text).toMatch(/tsfu_webhook_queue_length 0/);
});

test('a 4xx other than 429 is not retried; 429 and a timeout are', async () => {
  const { receiver, sender, registry } = await setUp({ timeoutMs: 200 });
  receiver.mode = 400;
  send(sender, 1);
  await waitUntil(async () => (await deliveries(registry, 'failed')) === 1, 5000, 'the 400 given up');
  expect(receiver.requests).toHaveLength(1);

  receiver.mode = 429;
  const [limited] = send(sender, 1);
  await waitUntil(() => receiver.requests.length >= 3, 5000, 'the 429 retried');
  receiver.mode = 'hang';
  await waitUntil(() => receiver.requests.length >= 5, 5000, 'the hanging receiver tried again after timeouts');
  receiver.mode = 200;
  await waitUntil(() => receiver.delivered.length === 1, 5000, 'the event delivered');
  expect(receiver.delivered[0].event.id).toBe(limited.id);
  expect(await deliveries(registry, 'failed')).toBe(1);
});

test('an event is given up after maxAttempts', async () => {
  const { receiver, registry } = await setUp({ maxAttempts: 3, backoffInitialMs: 20, backoffMaxMs: 40 });
  receiver.mode = 503;
  send(opened.at(-1)!.sender, 1);
  await waitUntil(async () => (await deliveries(registry, 'failed')) === 1, 5000, 'the event given up');
  expect(receiver.requests).toHaveLength(3);
  expect(await deliveries(registry, 'retried')).toBe(2);
});

test('close() is bounded by shutdownTimeoutMs with a hanging receiver, idempotent, and drops what is left', async () => {
  const { receiver, sender, registry } = await setUp({ shutdownTimeoutMs: 300, timeoutMs: 10_000 });
  receiver.mode = 'hang';
  send(sender, 5);
  await waitUntil(() => receiver.requests.length === 1, 5000, 'the first request to hang');
  const started = performance.now();
  const closing = sender.close();
  expect(sender.close()).toBe(closing);
  await closing;
  const took = performance.now() - started;
  expect(took).toBeGreaterThanOrEqual(290);
  expect(took).toBeLessThan(1000);
  expect(await deliveries(registry, 'dropped')).toBe(5);
  send(sender, 1);
  expect(await deliveries(registry, 'dropped')).toBe(6);
  expect(sender.queueLength).toBe(0);
});

test('close() delivers what waits when the receiver answers', async () => {
  const { receiver, sender } = await setUp({ shutdownTimeoutMs: 2000 });
  send(sender, 20);
  await sender.close();
  expect(receiver.delivered).toHaveLength(20);
});
