import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from './api-error.js';

/** Set on a request one node sends another: the receiver answers for itself only and never forwards it again. */
export const FORWARDED_HEADER = 'x-tsfu-forwarded-by';
const FORWARD_TIMEOUT_MS = 10_000;

/** Sends `request` (same method, path, Authorization and body) to the node at `origin` and relays its answer. */
export async function forwardRequest(request: FastifyRequest, reply: FastifyReply, origin: string, nodeId: string, selfId: string): Promise<FastifyReply> {
  const response = await fetchFrom(origin, request.url, {
    method: request.method,
    headers: {
      ...(request.headers.authorization ? { authorization: request.headers.authorization } : {}),
      ...(request.body !== undefined ? { 'content-type': 'application/json' } : {}),
      [FORWARDED_HEADER]: selfId,
    },
    body: request.body !== undefined ? JSON.stringify(request.body) : undefined,
  }, nodeId);
  const body = Buffer.from(await response.arrayBuffer());
  const type = response.headers.get('content-type');
  if (type) reply.header('content-type', type);
  return reply.code(response.status).send(body.length > 0 ? body : undefined);
}

/** A request to another node, bounded in time; a node that does not answer is a 502. */
export async function fetchFrom(origin: string, path: string, init: RequestInit, nodeId: string): Promise<Response> {
  try {
    return await fetch(new URL(path, origin), { ...init, signal: AbortSignal.timeout(FORWARD_TIMEOUT_MS) });
  } catch (error) {
    throw new ApiError(502, 'NODE_UNREACHABLE', `node ${nodeId} (${origin}) did not answer: ${(error as Error).message}`);
  }
}
