import type { FastifyInstance } from 'fastify';
import type {} from '@fastify/websocket';
import type { SignalingService } from './signaling-service.js';

export const SIGNALING_PATH = '/v1/rtc';

/** Routes signaling WebSockets to the service; needs @fastify/websocket registered first. */
export async function signalingRoutes(app: FastifyInstance, opts: { service: SignalingService }): Promise<void> {
  app.get(SIGNALING_PATH, { websocket: true }, (socket, request) => {
    opts.service.handleConnection(socket, request.ip);
  });
}
