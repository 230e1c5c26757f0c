import type { FastifyInstance } from 'fastify';
import { mintToken } from '../signaling/index.js';

export const DEV_KID = 'dev';

/**
 * Development mode only (no keys configured): `GET /dev/token?room=R&identity=I` mints a token for the demo page:
 * publish, subscribe, data and canUpdateOwnMetadata (raise a hand); `admin=1` adds roomAdmin (the demo's teacher);
 * `publish=0` leaves canPublish out (the demo's student, who speaks once the teacher grants it). Never registered once
 * real keys are configured, and development mode only starts on a loopback http.host unless
 * auth.allowDevelopmentModeOnNetwork is set (config.ts).
 */
export async function devTokenRoute(app: FastifyInstance, opts: { secret: string }): Promise<void> {
  app.get<{ Querystring: { room?: string; identity?: string; name?: string; admin?: string; publish?: string } }>(
    '/dev/token',
    {
      schema: {
        querystring: {
          type: 'object',
          required: ['room', 'identity'],
          additionalProperties: false,
          properties: {
            room: { type: 'string', minLength: 1, maxLength: 128 },
            identity: { type: 'string', minLength: 1, maxLength: 128 },
            name: { type: 'string', maxLength: 128 },
            admin: { type: 'string', enum: ['0', '1'] },
            publish: { type: 'string', enum: ['0', '1'] },
          },
        },
      },
    },
    async (request) => {
      const { room, identity, name, admin, publish } = request.query as { room: string; identity: string; name?: string; admin?: '0' | '1'; publish?: '0' | '1' };
      const grants = { canUpdateOwnMetadata: true, roomAdmin: admin === '1', canPublish: publish !== '0' };
      return { token: await mintToken({ kid: DEV_KID, secret: opts.secret, room, identity, name, grants, ttlSeconds: 6 * 3600 }) };
    },
  );
}
