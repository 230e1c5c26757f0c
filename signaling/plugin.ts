import type { FastifyInstance } from 'fastify';
import type {} from '@fastify/websocket';
import type { SignalingService } from './signaling-service.js';

export const SIGNALING_PATH = '/v1/rtc';

/** Routes signaling WebSockets to the service; needs @fastify/websocket registered first. */
export async function signalingRoutes(app: FastifyInstance, opts: { service: SignalingService }): Promise<void> {
  app.get(SIGNALING_PATH, { websocket: true }, (socket, request) => {
    // @fastify/websocket's default error listener logs every socket error at level 50 with a stack and
    // terminates the socket, which would cut off ws's own close frame (1007, 1009). The session installs
    // its own listener, which classifies client protocol violations (session.ts, #onSocketError).
    socket.removeAllListeners('error');
    opts.service.handleConnection(socket, request.ip);
  });
}
