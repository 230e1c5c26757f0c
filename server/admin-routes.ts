import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { AdminAuthError, verifyAdminToken } from './admin-token.js';

/** What GET and POST /admin/drain answer. */
export interface DrainStatus {
  draining: boolean;
  /** Why it drains: 'SIGTERM', 'SIGINT' or 'admin'; absent while serving. */
  reason?: string;
  /** ISO time the drain started. */
  startedAt?: string;
  /** How long rooms are kept before their clients are told to move (shutdown.drainMs). */
  drainMs: number;
  rooms: number;
  participants: number;
}

export interface AdminRouteOptions {
  keys: Readonly<Record<string, string>>;
  clockToleranceSeconds: number;
  logger: Logger;
  status(): DrainStatus;
  /** Starts the same bounded drain as SIGTERM; idempotent. */
  drain(reason: string): void;
}

/**
 * The operator's endpoints, each behind an admin token (server/admin-token.ts):
 * `POST /admin/drain` drains this node as SIGTERM does (202), `GET /admin/drain` says how far it is (200).
 */
export async function adminRoutes(app: FastifyInstance, opts: AdminRouteOptions): Promise<void> {
  const authorize = async (request: FastifyRequest, reply: FastifyReply) => {
    try {
      return await verifyAdminToken(request.headers.authorization, opts.keys, 'drain', opts.clockToleranceSeconds);
    } catch (error) {
      if (!(error instanceof AdminAuthError)) throw error;
      opts.logger.warn({ ip: request.ip, path: request.url, code: error.code, reason: error.message }, 'admin request refused');
      if (error.statusCode === 401) reply.header('www-authenticate', 'Bearer realm="tsfu-admin"');
      await reply.code(error.statusCode).send({ error: error.code, message: error.message });
      return undefined;
    }
  };
  app.get('/admin/drain', async (request, reply) => {
    if (!(await authorize(request, reply))) return reply;
    return opts.status();
  });
  app.post('/admin/drain', async (request, reply) => {
    const claims = await authorize(request, reply);
    if (!claims) return reply;
    opts.logger.info({ operator: claims.operator, ip: request.ip }, 'drain requested over HTTP');
    opts.drain('admin');
    return reply.code(202).send(opts.status());
  });
}
