import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import fastifyWebsocket from '@fastify/websocket';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { Sfu } from '../sfu/index.js';
import type { TcpMux } from '../sfu/peer/tcp-mux.js';
import type { UdpMux } from '../sfu/peer/udp-mux.js';
import { SignalingService, signalingRoutes, SIGNALING_PATH, type RoomAdministration } from '../signaling/index.js';
import { adminRoutes, type DrainStatus } from './admin-routes.js';
import { clientAssetRoutes } from './client-assets.js';
import { ClusterService } from './cluster-service.js';
import { WebhookSender } from '../webhooks/index.js';
import { assertDevelopmentModeAllowed, assertWebhooksValid, isDevelopmentMode, isLoopbackHost, type Config } from './config.js';
import { DEV_KID, devTokenRoute } from './dev-token-route.js';
import { createRootLogger } from './logger.js';
import { opsRoutes } from './ops-routes.js';
import { API_PREFIX, LocalRooms, RoomRegistry, RoomRouter, bindRoomRegistry, releaseExpiredRoom, roomApiRoutes } from './room-api/index.js';
import { closeSharedMediaPorts, openSharedMediaPorts } from './shared-media-ports.js';
import { startTurnService, type TurnService } from './turn-service.js';
import { sendSfuEventsAsWebhooks } from './webhook-events.js';

export interface RunningServer {
  app: FastifyInstance;
  sfu: Sfu;
  signaling: SignalingService;
  /** Moderation of this node's rooms (list, mute, remove, update participants): the sessions' rules, for the room service API. */
  roomAdmin: RoomAdministration;
  turn?: TurnService;
  /** The node's one media UDP port, when rtc.udpPort is set. */
  udpMux?: UdpMux;
  /** Its ICE-TCP port, when rtc.tcpPort is set too. */
  tcpMux?: TcpMux;
  registry: Registry;
  logger: Logger;
  /** http://host:port of the listening server. */
  url: string;
  /** ws://host:port/v1/rtc */
  signalingUrl: string;
  /** kid → secret in force (the generated one in development mode). */
  keys: Record<string, string>;
  developmentMode: boolean;
  cluster: ClusterService;
  /** The rooms this node serves, with what the room service API set for them. */
  roomRegistry: RoomRegistry;
  /** Present when webhooks.urls is set. */
  webhooks?: WebhookSender;
  /**
   * Takes no new room (`/readyz` 503, placement skips this node) and waits up to `drainMs` for its rooms to empty;
   * resolves then, or at once when they already are. `close` tells the clients still here to join again elsewhere.
   */
  drain(drainMs: number): Promise<void>;
  /** Drains clients, closes peers and sockets; idempotent. */
  close(): Promise<void>;
  /**
   * SIGTERM's and POST /admin/drain's bounded shutdown: `drain(shutdown.drainMs)`, then `close`. Idempotent: every
   * call returns the first one's promise. `onShutdown` (the process entry) is told once, to exit when it settles.
   */
  shutdown(reason: string): Promise<void>;
  /** Whether this node drains, why and since when, and what it still serves. */
  drainStatus(): DrainStatus;
}

export interface StartServerOptions {
  logger?: Logger;
  /** Called once when a shutdown starts (SIGTERM or POST /admin/drain), with the promise of its end. */
  onShutdown?: (done: Promise<void>, reason: string) => void;
}

/** dist/client beside dist/server when compiled; the same folder when run from source (tests). */
const CLIENT_DIR = fileURLToPath(new URL(import.meta.url.includes('/dist/server/') ? '../client/' : '../dist/client/', import.meta.url));

/** The composition root: builds the SFU, signaling and HTTP routes from one validated config and listens. */
export async function startServer(config: Config, options: StartServerOptions = {}): Promise<RunningServer> {
  const logger = options.logger ?? createRootLogger(config);
  assertDevelopmentModeAllowed(config); // loadConfig checked it already; a Config built by hand is checked here
  assertWebhooksValid(config);
  const developmentMode = isDevelopmentMode(config);
  const devSecret = randomBytes(32).toString('base64url');
  const keys = developmentMode ? { [DEV_KID]: devSecret } : { ...config.auth.keys };
  if (developmentMode) {
    logger.warn({ kid: DEV_KID }, 'DEVELOPMENT MODE: no auth.keys configured; using a generated key and serving GET /dev/token. Configure auth.keys (or TSFU_AUTH_KEYS) for production.');
    if (!isLoopbackHost(config.http.host)) {
      logger.warn({ host: config.http.host }, 'DEVELOPMENT MODE ON THE NETWORK (auth.allowDevelopmentModeOnNetwork): anyone who reaches this address gets a full-grant token from GET /dev/token.');
    }
  }

  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'tsfu_' });
  const rtc = config.rtc;
  const sharedPorts = await openSharedMediaPorts(rtc, registry, logger.child({ name: 'sfu' }));
  const sfu = new Sfu(rtc, { logger: logger.child({ name: 'sfu' }), registry, sharedPorts });
  let turn: TurnService | undefined;
  try {
    turn = config.turn.enabled ? await startTurnService(config.turn, logger.child({ name: 'turn' }), registry) : undefined;
  } catch (error) {
    await closeSharedMediaPorts(sharedPorts);
    throw error;
  }
  const cluster = new ClusterService(config.cluster, logger.child({ name: 'cluster' }), registry);
  const webhooks =
    config.webhooks.urls.length > 0
      ? new WebhookSender(config.webhooks, { secret: config.auth.keys[config.webhooks.apiKey]!, nodeId: cluster.identity.nodeId, logger: logger.child({ name: 'webhooks' }), registry })
      : undefined;
  const roomRegistry = new RoomRegistry(releaseExpiredRoom(sfu, cluster.cluster, logger.child({ name: 'rooms' })));
  const stopWebhookEvents = webhooks ? sendSfuEventsAsWebhooks(sfu, webhooks, roomRegistry) : undefined;
  bindRoomRegistry(roomRegistry, sfu, cluster.cluster, logger.child({ name: 'rooms' }));
  const signaling = new SignalingService(config.signaling, {
    sfu,
    rooms: cluster.directory,
    roomSettings: roomRegistry,
    keys,
    logger: logger.child({ name: 'signaling' }),
    registry,
    maxDataMessageBytes: rtc.maxDataMessageBytes,
    iceServers: (identity) => [...(turn?.iceServersFor(identity) ?? []), ...config.iceServers],
  });

  const app: FastifyInstance = Fastify({
    // Per-request access logs would drown the media logs (Prometheus scrapes every few seconds): warnings only.
    loggerInstance: logger.child({ name: 'http' }, { level: logger.levelVal > 40 ? logger.level : 'warn' }) as FastifyBaseLogger,
    forceCloseConnections: true,
    // Room names (up to 128 characters, URL-encoded: up to 12 bytes each) are path parameters of the room service API.
    routerOptions: { maxParamLength: 2048 },
  });
  let draining = false;
  await app.register(fastifyWebsocket, {
    options: { maxPayload: config.signaling.maxMessageBytes },
    // Our own drain tells clients why (4050) before Fastify's preClose would close them with 1001.
    preClose: async () => signaling.drain(),
  });
  await app.register(signalingRoutes, { service: signaling });
  await app.register(opsRoutes, { registry, isReady: () => !draining });
  let drainStarted: { reason: string; at: Date } | undefined;
  let shuttingDown: Promise<void> | undefined;
  const drainStatus = (): DrainStatus => ({
    draining,
    ...(drainStarted ? { reason: drainStarted.reason, startedAt: drainStarted.at.toISOString() } : {}),
    drainMs: config.shutdown.drainMs,
    rooms: sfu.rooms.size,
    participants: signaling.joinedCount,
  });
  // `drain` and `close` are defined below, before the server listens.
  const shutdown = (reason: string): Promise<void> => {
    if (!shuttingDown) {
      drainStarted = { reason, at: new Date() };
      shuttingDown = drain(config.shutdown.drainMs).then(() => close());
      options.onShutdown?.(shuttingDown, reason);
    }
    return shuttingDown;
  };
  await app.register(adminRoutes, {
    keys,
    clockToleranceSeconds: config.signaling.tokenClockToleranceSeconds,
    logger: logger.child({ name: 'admin' }),
    status: drainStatus,
    drain: (reason) => void shutdown(reason).catch((error: unknown) => logger.error({ err: error }, 'error while shutting down')),
  });
  await app.register(roomApiRoutes, {
    prefix: API_PREFIX,
    nodeId: cluster.identity.nodeId,
    keys,
    clockToleranceSeconds: config.signaling.tokenClockToleranceSeconds,
    logger: logger.child({ name: 'room-api' }),
    registry,
    router: new RoomRouter(cluster.cluster),
    rooms: new LocalRooms({
      nodeId: cluster.identity.nodeId,
      sfu,
      signaling,
      cluster: cluster.cluster,
      registry: roomRegistry,
      admin: signaling.roomAdmin,
      maxDataMessageBytes: rtc.maxDataMessageBytes,
      logger: logger.child({ name: 'room-api' }),
    }),
  });
  if (developmentMode) await app.register(devTokenRoute, { secret: devSecret });
  await app.register(clientAssetRoutes, { dir: CLIENT_DIR });

  const drain = async (drainMs: number) => {
    draining = true;
    cluster.cluster.setDraining(true);
    const deadline = performance.now() + drainMs;
    logger.info({ rooms: sfu.rooms.size, drainMs }, 'draining: no new rooms; waiting for the rooms here to empty');
    while (sfu.rooms.size > 0 && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, Math.min(250, deadline - performance.now())));
    logger.info({ rooms: sfu.rooms.size }, sfu.rooms.size === 0 ? 'drained: no room left' : 'drain time over: moving the remaining rooms');
  };
  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      draining = true;
      cluster.cluster.setDraining(true);
      signaling.close();
      sfu.close();
      roomRegistry.close();
      // After the SFU: its rooms' participant_left and room_finished are queued, then delivered within shutdownTimeoutMs.
      stopWebhookEvents?.();
      const webhooksClosed = webhooks?.close();
      await app.close();
      await turn?.server.close();
      await cluster.close();
      await closeSharedMediaPorts(sharedPorts);
      await webhooksClosed;
    })();
    return closing;
  };
  try {
    await app.listen({ host: config.http.host, port: config.http.port });
  } catch (error) {
    // Nothing half-started may outlive a failed start (e.g. the port is taken).
    await close();
    throw error;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.http.port;
  const host = config.http.host.includes(':') ? `[${config.http.host}]` : config.http.host;
  const url = `http://${host}:${port}`;
  const signalingUrl = `ws://${host}:${port}${SIGNALING_PATH}`;
  await cluster.start(sfu, signaling, { signalingUrl, mediaAddress: rtc.announcedIp || rtc.listenIp }, config.cluster.heartbeatMs, (room) => roomRegistry.keepsEmpty(room));
  logger.info({ url, signaling: signalingUrl, rtcListenIp: rtc.listenIp, udpPort: sharedPorts?.udp.port, tcpPort: sharedPorts?.tcp?.port, developmentMode, nodeId: cluster.identity.nodeId }, 'server listening');

  return { app, sfu, signaling, roomAdmin: signaling.roomAdmin, turn, udpMux: sharedPorts?.udp, tcpMux: sharedPorts?.tcp, registry, logger, url, signalingUrl, keys, developmentMode, cluster, roomRegistry, webhooks, drain, close, shutdown, drainStatus };
}
