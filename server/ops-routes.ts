import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';

/** /healthz (the process is up), /readyz (it accepts new participants), /metrics (Prometheus). */
export async function opsRoutes(app: FastifyInstance, opts: { registry: Registry; isReady: () => boolean }): Promise<void> {
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => (opts.isReady() ? { status: 'ready' } : reply.code(503).send({ status: 'draining' })));
  app.get('/metrics', async (_request, reply) => reply.header('content-type', opts.registry.contentType).send(await opts.registry.metrics()));
}
