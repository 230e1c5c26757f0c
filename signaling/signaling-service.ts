import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { WebSocket } from 'ws';
import { CloseCode, ErrorCode } from './errors.js';
import { HeartbeatWheel } from './heartbeat-wheel.js';
import type { IceServerInfo, ServerMessage } from './messages.js';
import { SignalingSession } from './session.js';
import { createSignalingMetrics, type SignalingMetrics } from './signaling-metrics.js';
import type { SignalingOptions } from './signaling-options.js';
import { everyRoomHere, type RoomDirectoryPort } from './room-directory-port.js';
import { noRoomSettings, type RoomSettingsPort } from './room-settings-port.js';
import type { SfuPort } from './sfu-port.js';
import { KeyedRateLimiter } from './token-bucket.js';
import { RoomAdministration } from './room-admin.js';
import { TokenVerifier, type SigningKeys } from './tokens.js';

export interface SignalingServiceDeps {
  sfu: SfuPort;
  /** Where rooms live (the cluster); every room is on this node when absent. */
  rooms?: RoomDirectoryPort;
  /** What the room service API set for rooms (max participants, metadata); none when absent. */
  roomSettings?: RoomSettingsPort;
  keys: SigningKeys;
  logger: Logger;
  registry: Registry;
  maxDataMessageBytes: number;
  /** ICE servers for a participant's join reply (e.g. fresh TURN credentials). */
  iceServers?: (identity: string) => IceServerInfo[];
}

const sessionKey = (room: string, identity: string) => `${room}\u0000${identity}`;

/**
 * Accepts signaling connections: per-IP connection rate limit, one heartbeat wheel for all sessions (each
 * pinged once per interval, spread over it), the identity → session registry used for replacement, and
 * draining at shutdown.
 */
export class SignalingService {
  readonly metrics: SignalingMetrics;
  /** Moderation of this node's rooms, for the sessions and the room service API. */
  readonly roomAdmin: RoomAdministration;
  readonly #options: SignalingOptions;
  readonly #deps: SignalingServiceDeps;
  readonly #sessions = new Set<SignalingSession>();
  readonly #joined = new Map<string, SignalingSession>();
  /** Joined sessions by their resume token. */
  readonly #resumable = new Map<string, SignalingSession>();
  readonly #connectionLimiter: KeyedRateLimiter;
  readonly #tokens: TokenVerifier;
  readonly #heartbeat: HeartbeatWheel<SignalingSession>;
  #draining = false;

  constructor(options: SignalingOptions, deps: SignalingServiceDeps) {
    this.#options = options;
    this.#deps = deps;
    this.#tokens = new TokenVerifier(deps.keys, options.tokenClockToleranceSeconds);
    this.#connectionLimiter = new KeyedRateLimiter(options.connectionsPerIpPerSecond, options.connectionBurstPerIp);
    this.metrics = createSignalingMetrics(
      deps.registry,
      () => this.#sessions.size,
      () => [...this.#joined.values()].filter((s) => s.state === 'detached').length,
    );
    this.#heartbeat = new HeartbeatWheel(
      options.heartbeatIntervalMs,
      (now) => this.#connectionLimiter.sweep(now),
      (error) => deps.logger.error({ err: error }, 'heartbeat of a session failed'),
    );
    this.#heartbeat.start();
    this.roomAdmin = new RoomAdministration({
      sfu: deps.sfu,
      findSession: (room, identity) => this.#joined.get(sessionKey(room, identity)),
      logger: deps.logger,
      actions: this.metrics.moderationActions,
    });
  }

  get sessionCount(): number {
    return this.#sessions.size;
  }

  get joinedCount(): number {
    return this.#joined.size;
  }

  handleConnection(socket: WebSocket, ip: string): void {
    const now = performance.now();
    const refuse = (code: ErrorCode, closeCode: number, message: string) => {
      // No session owns this socket: something must listen for its errors (a reset while closing).
      socket.on('error', (error) => this.#deps.logger.debug({ reason: error.message, ip }, 'websocket error on a refused connection'));
      this.metrics.connectionsRejected.inc({ reason: code });
      this.metrics.errorsSent.inc({ code });
      socket.send(JSON.stringify({ type: 'error', code, message }));
      socket.close(closeCode, message);
    };
    if (this.#draining) return refuse(ErrorCode.SHUTTING_DOWN, CloseCode.SERVER_SHUTDOWN, 'server is shutting down');
    if (!this.#connectionLimiter.take(ip, now)) {
      return refuse(ErrorCode.CONNECTION_RATE_LIMITED, CloseCode.RATE_LIMITED, 'too many connections from this address; retry later');
    }
    const session = new SignalingSession(socket, ip, {
      options: this.#options,
      sfu: this.#deps.sfu,
      rooms: this.#deps.rooms ?? everyRoomHere,
      roomSettings: this.#deps.roomSettings ?? noRoomSettings,
      tokens: this.#tokens,
      metrics: this.metrics,
      logger: this.#deps.logger,
      maxDataMessageBytes: this.#deps.maxDataMessageBytes,
      iceServers: (identity) => this.#deps.iceServers?.(identity) ?? [],
      admin: this.roomAdmin,
      findSession: (room, identity) => this.#joined.get(sessionKey(room, identity)),
      findResumable: (token) => this.#resumable.get(token),
      onJoined: (s) => {
        this.#joined.set(sessionKey(s.roomId!, s.identity!), s);
        if (s.resumeToken) this.#resumable.set(s.resumeToken, s);
      },
      onClosed: (s) => {
        if (s.resumeToken) this.#resumable.delete(s.resumeToken);
        this.#sessions.delete(s);
        this.#heartbeat.delete(s);
        if (s.roomId && s.identity && this.#joined.get(sessionKey(s.roomId, s.identity)) === s) this.#joined.delete(sessionKey(s.roomId, s.identity));
      },
    });
    // The close handler may already have run (a socket that closed during construction).
    if (session.state === 'closed') return;
    this.#sessions.add(session);
    this.#heartbeat.add(session);
  }

  /** Refuses new connections and tells every client the server is going away. */
  drain(): void {
    if (this.#draining) return;
    this.#draining = true;
    for (const session of [...this.#sessions]) {
      session.close(CloseCode.SERVER_SHUTDOWN, 'server shutting down', 'server-shutdown', { type: 'leave', reason: 'server-shutdown' });
    }
  }

  /** This node no longer serves `roomId`: its clients are told to join again (the room moved to another node). */
  closeRoom(roomId: string): void {
    for (const session of [...this.#joined.values()]) {
      if (session.roomId !== roomId) continue;
      session.close(CloseCode.ROOM_MOVED, 'room moved to another node', 'room-moved', { type: 'leave', reason: 'room-moved' });
    }
  }

  /** The room was deleted: its clients are told (`leave` room-deleted) and closed with 4015, which the SDK does not retry. */
  deleteRoom(roomId: string): void {
    for (const session of this.#sessionsOf(roomId)) {
      session.close(CloseCode.ROOM_DELETED, 'room deleted', 'room-deleted', { type: 'leave', reason: 'room-deleted' });
    }
  }

  /** Sends `message` to every session joined to `roomId` (also kept for a resume of a dropped one). */
  broadcast(roomId: string, message: ServerMessage): void {
    for (const session of this.#sessionsOf(roomId)) session.send(message);
  }

  #sessionsOf(roomId: string): SignalingSession[] {
    return [...this.#joined.values()].filter((session) => session.roomId === roomId);
  }

  close(): void {
    this.drain();
    this.#heartbeat.stop();
    this.#connectionLimiter.clear();
  }
}
