import type { TSchema } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import { AdminAuthError } from '../admin-token.js';
import { ApiError, roomNotFound, toApiError } from './api-error.js';
import { authorize, grants, verifyApiToken, type ApiClaims } from './api-token.js';
import { FORWARDED_HEADER, fetchFrom, forwardRequest } from './forward.js';
import type { LocalRooms } from './local-rooms.js';
import type { RoomRouter } from './room-router.js';
import {
  CreateRoomBody,
  MuteTrackBody,
  ParticipantParams,
  RoomParams,
  SendDataBody,
  TrackParams,
  UpdateParticipantBody,
  UpdateRoomBody,
  type RoomInfo,
} from './schemas.js';

export const API_PREFIX = '/api/v1';

export interface RoomApiOptions {
  nodeId: string;
  keys: Readonly<Record<string, string>>;
  clockToleranceSeconds: number;
  logger: Logger;
  rooms: LocalRooms;
  router: RoomRouter;
  registry: Registry;
}

declare module 'fastify' {
  interface FastifyRequest {
    apiClaims?: ApiClaims;
  }
}

/** TypeBox checks as Fastify validators: unknown fields are refused (Fastify's default Ajv would drop them silently). */
function typeboxValidator({ schema }: { schema: unknown }) {
  const check = TypeCompiler.Compile(schema as TSchema);
  return (data: unknown) => {
    if (check.Check(data)) return { value: data };
    const first = check.Errors(data).First();
    return { error: new Error(`${first?.path || '/'}: ${first?.message ?? 'invalid'}`) };
  };
}

/**
 * The room service API (docs/API.md): LiveKit's RoomService over HTTP/JSON, under /api/v1, behind API tokens. Any node
 * answers: a room served by another node is handled there (the request is forwarded), and the room list gathers
 * every node's rooms.
 */
export async function roomApiRoutes(app: FastifyInstance, opts: RoomApiOptions): Promise<void> {
  const { rooms, router, logger } = opts;
  const requests = new Counter({
    name: 'tsfu_room_api_requests_total',
    help: 'Room service API requests by route, method and HTTP status (forwarded: answered by another node)',
    labelNames: ['method', 'route', 'status', 'forwarded'],
    registers: [opts.registry],
  });
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unknown';
    requests.inc({ method: request.method, route, status: String(reply.statusCode), forwarded: request.headers[FORWARDED_HEADER] !== undefined ? 'yes' : 'no' });
  });
  app.setValidatorCompiler(typeboxValidator);
  app.decorateRequest('apiClaims', undefined);
  app.addHook('onRequest', async (request) => {
    request.apiClaims = await verifyApiToken(request.headers.authorization, opts.keys, opts.clockToleranceSeconds);
  });
  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error instanceof AdminAuthError) {
      logger.warn({ ip: request.ip, method: request.method, path: request.url, code: error.code, reason: error.message }, 'API request refused');
      if (error.statusCode === 401) reply.header('www-authenticate', 'Bearer realm="tsfu-api"');
      return reply.code(error.statusCode).send({ code: error.code, message: error.message });
    }
    const known = toApiError(error);
    if (known) return reply.code(known.statusCode).send({ code: known.code, message: known.message });
    if (error.validation || error.code === 'FST_ERR_VALIDATION') {
      return reply.code(400).send({ code: 'SCHEMA_VIOLATION', message: `${error.validationContext ?? 'request'} ${error.message}` });
    }
    if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
      const code = error.code?.startsWith('FST_ERR_CTP_') && /JSON/.test(error.message) ? 'MALFORMED_JSON' : 'BAD_REQUEST';
      return reply.code(error.statusCode).send({ code, message: error.message });
    }
    logger.error({ err: error, method: request.method, path: request.url }, 'API request failed');
    return reply.code(500).send({ code: 'INTERNAL', message: 'internal error; it has been logged' });
  });

  app.setNotFoundHandler((request, reply) => reply.code(404).send({ code: 'NOT_FOUND', message: `no route ${request.method} ${request.url.split('?')[0]} (docs/API.md)` }));

  const claimsOf = (request: FastifyRequest) => request.apiClaims!;
  /** Who acts, as moderation events name them (`by`): the token's `sub`, else "api". */
  const actor = (request: FastifyRequest) => claimsOf(request).subject ?? 'api';
  const forwarded = (request: FastifyRequest) => request.headers[FORWARDED_HEADER] !== undefined;

  /** Runs `local` on the room's node: here, or forwarded there. */
  async function atOwner(request: FastifyRequest, reply: FastifyReply, room: string, local: () => unknown, place = false): Promise<unknown> {
    const owner = await router.owner(room, place);
    if (!owner) throw roomNotFound(room);
    if (owner.kind === 'here') return local();
    // A forwarded request reaching a node that does not serve the room: the room moved meanwhile.
    if (forwarded(request)) throw new ApiError(503, 'ROOM_UNAVAILABLE', `room "${room}" moved to node ${owner.nodeId} during the request; retry`);
    return forwardRequest(request, reply, owner.url, owner.nodeId, opts.nodeId);
  }

  app.post<{ Body: CreateRoomBody }>('/rooms', { schema: { body: CreateRoomBody } }, async (request, reply) => {
    authorize(claimsOf(request), 'roomCreate', request.body.name);
    return atOwner(
      request,
      reply,
      request.body.name,
      () => {
        const { room, created } = rooms.create(request.body);
        return reply.code(created ? 201 : 200).send(room);
      },
      true,
    );
  });

  app.get('/rooms', async (request) => {
    authorize(claimsOf(request), 'roomList');
    const local = rooms.list();
    if (forwarded(request)) return { rooms: local };
    const others = await router.otherNodes();
    const unreachableNodes: string[] = [];
    const remote = await Promise.all(
      others.map(async (node) => {
        try {
          const response = await fetchFrom(node.url, `${API_PREFIX}/rooms`, { headers: { authorization: request.headers.authorization!, [FORWARDED_HEADER]: opts.nodeId } }, node.id);
          if (!response.ok) throw new Error(`HTTP ${response.status}`);
          return ((await response.json()) as { rooms: RoomInfo[] }).rooms;
        } catch (error) {
          logger.warn({ nodeId: node.id, reason: (error as Error).message }, 'a node did not list its rooms');
          unreachableNodes.push(node.id);
          return [];
        }
      }),
    );
    const all = [...local, ...remote.flat()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    return { rooms: all, ...(unreachableNodes.length > 0 ? { unreachableNodes } : {}) };
  });

  app.get<{ Params: RoomParams }>('/rooms/:room', { schema: { params: RoomParams } }, async (request, reply) => {
    const { room } = request.params;
    const claims = claimsOf(request);
    if (!grants(claims, 'roomList') && !grants(claims, 'roomAdmin', room)) authorize(claims, 'roomAdmin', room);
    return atOwner(request, reply, room, () => {
      const info = rooms.info(room);
      if (!info) throw roomNotFound(room);
      return info;
    });
  });

  app.delete<{ Params: RoomParams }>('/rooms/:room', { schema: { params: RoomParams } }, async (request, reply) => {
    const { room } = request.params;
    authorize(claimsOf(request), 'roomCreate', room);
    return atOwner(request, reply, room, async () => {
      await rooms.delete(room);
      return reply.code(204).send();
    });
  });

  app.patch<{ Params: RoomParams; Body: UpdateRoomBody }>('/rooms/:room', { schema: { params: RoomParams, body: UpdateRoomBody } }, async (request, reply) => {
    const { room } = request.params;
    authorize(claimsOf(request), 'roomAdmin', room);
    return atOwner(request, reply, room, () => rooms.updateMetadata(room, request.body.metadata));
  });

  app.post<{ Params: RoomParams; Body: SendDataBody }>('/rooms/:room/data', { schema: { params: RoomParams, body: SendDataBody } }, async (request, reply) => {
    const { room } = request.params;
    authorize(claimsOf(request), 'roomAdmin', room);
    return atOwner(request, reply, room, () => rooms.sendData(room, request.body));
  });

  app.get<{ Params: RoomParams }>('/rooms/:room/participants', { schema: { params: RoomParams } }, async (request, reply) => {
    const { room } = request.params;
    const claims = claimsOf(request);
    if (!grants(claims, 'roomList')) authorize(claims, 'roomAdmin', room);
    return atOwner(request, reply, room, () => ({ participants: rooms.participants(room) }));
  });

  app.delete<{ Params: ParticipantParams }>('/rooms/:room/participants/:identity', { schema: { params: ParticipantParams } }, async (request, reply) => {
    const { room, identity } = request.params;
    authorize(claimsOf(request), 'roomAdmin', room);
    return atOwner(request, reply, room, () => {
      rooms.removeParticipant(room, identity, actor(request));
      return reply.code(204).send();
    });
  });

  app.patch<{ Params: ParticipantParams; Body: UpdateParticipantBody }>(
    '/rooms/:room/participants/:identity',
    { schema: { params: ParticipantParams, body: UpdateParticipantBody } },
    async (request, reply) => {
      const { room, identity } = request.params;
      authorize(claimsOf(request), 'roomAdmin', room);
      return atOwner(request, reply, room, () => ({ participant: rooms.updateParticipant(room, identity, request.body, actor(request)) }));
    },
  );

  app.post<{ Params: TrackParams; Body: MuteTrackBody }>(
    '/rooms/:room/participants/:identity/tracks/:trackId/mute',
    { schema: { params: TrackParams, body: MuteTrackBody } },
    async (request, reply) => {
      const { room, identity, trackId } = request.params;
      authorize(claimsOf(request), 'roomAdmin', room);
      return atOwner(request, reply, room, () => ({ track: rooms.muteTrack(room, identity, trackId, request.body.muted, actor(request)) }));
    },
  );
}
