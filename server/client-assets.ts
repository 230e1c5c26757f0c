import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { extname, join } from 'node:path';
import type { FastifyInstance } from 'fastify';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
};

/**
 * Serves the built browser SDK and demo page (dist/client, made by `npm run build`) from memory: a handful
 * of files, read once at start-up.
 */
export async function clientAssetRoutes(app: FastifyInstance, opts: { dir: string }): Promise<void> {
  if (!existsSync(opts.dir)) {
    app.log.warn({ dir: opts.dir }, 'client assets not built; run npm run build to serve the demo page');
    return;
  }
  for (const file of readdirSync(opts.dir)) {
    const type = CONTENT_TYPES[extname(file)];
    if (!type) continue;
    const body = readFileSync(join(opts.dir, file));
    const route = file === 'index.html' ? '/' : `/${file}`;
    app.get(route, (_request, reply) => reply.header('content-type', type).header('cache-control', 'no-cache').send(body));
  }
}
