import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { WebSocket, RawData } from 'ws';
import { CloseCode, ErrorCode, SignalingError } from './errors.js';
import { parseClientMessage } from './message-parser.js';
import { PROTOCOL_VERSION, type ClientMessage, type ClientMessageOf, type IceServerInfo, type ServerMessage } from './messages.js';
import { ClientMetricsRecorder } from './client-metrics.js';
import { PhaseTimer } from './phase-timer.js';
import type { SignalingMetrics } from './signaling-metrics.js';
import type { SignalingOptions } from './signaling-options.js';
import { ResumeLog } from './resume-log.js';
import type { RoomDirectoryPort } from './room-directory-port.js';
import type { RoomSettingsPort } from './room-settings-port.js';
import type { ParticipantPort, ParticipantPortEvents, RoomPort, RoomPortEvents, SfuPort } from './sfu-port.js';
import { TokenBucket } from './token-bucket.js';
import type { TokenVerifier } from './tokens.js';
import { handleModerationRequest, isModerationMessage } from './moderation-requests.js';
import type { RoomAdministration } from './room-admin.js';

export interface SessionDeps {
  options: SignalingOptions;
  sfu: SfuPort;
  rooms: RoomDirectoryPort;
  roomSettings: RoomSettingsPort;
  tokens: TokenVerifier;
  metrics: SignalingMetrics;
  logger: Logger;
  iceServers(identity: string): IceServerInfo[];
  /** The SFU's limit on a data message's payload, told to clients in `joined`. */
  maxDataMessageBytes: number;
  /** The session currently holding `identity` in `room`, for replacement. */
  findSession(room: string, identity: string): SignalingSession | undefined;
  /** The joined session whose `joined.resume.token` this is. */
  findResumable(token: string): SignalingSession | undefined;
  /** Moderation shared with the room service API. */
  admin: RoomAdministration;
  onJoined(session: SignalingSession): void;
  onClosed(session: SignalingSession): void;
}

/** `detached`: joined, its socket dropped; the participant stays for the resume grace period. */
type State = 'awaiting-join' | 'joining' | 'joined' | 'detached' | 'closed';

/** What a session keeps for a client to resume it: the frames sent since `joined`, bounded. */
const RESUME_LOG_FRAMES = 512;
const RESUME_LOG_CHARS = 4 * 1024 * 1024;
/**
 * Closes after which the participant waits for a resume: without a close frame (1006, RFC 6455 §7.4.1), or the
 * client's own RESUMING. A client that sent any other close frame meant to go.
 */
const RESUMABLE_CLOSES = new Set<number>([1006, CloseCode.RESUMING]);

/** SFU errors arrive by name (signaling does not import the SFU's classes). */
const sfuErrorCodes: Record<string, ErrorCode> = {
  InvalidSdpError: ErrorCode.INVALID_SDP,
  InvalidStateError: ErrorCode.WRONG_STATE,
  PermissionError: ErrorCode.PERMISSION_DENIED,
  NotFoundError: ErrorCode.TRACK_NOT_FOUND,
  LimitExceededError: ErrorCode.LIMIT_EXCEEDED,
  RateLimitedError: ErrorCode.RATE_LIMITED,
};

/** One participant's signaling WebSocket: join, then relay requests to the SFU and room events back. */
export class SignalingSession {
  readonly ip: string;
  roomId?: string;
  identity?: string;
  #state: State = 'awaiting-join';
  #participant?: ParticipantPort;
  #room?: RoomPort;
  #closeReason = 'disconnected';
  /** Set once joined when resuming is enabled: the token that takes this session over, and what it sent. */
  resumeToken?: string;
  #sent?: ResumeLog;
  /** Frames received since `joined` (they count toward a resume's replay). */
  #received = 0;
  #graceTimer?: NodeJS.Timeout;
  #lastPongAt = performance.now();
  #pingSentAt = 0;
  #droppedThisSecond = 0;
  #dropWindowStart = 0;
  #lastRateErrorAt = -Infinity;
  /** Parsed requests waiting for the one being handled: one at a time, in order (bounded by maxQueuedMessages). */
  readonly #queue: ClientMessage[] = [];
  #processing = false;
  #socket: WebSocket;
  readonly #deps: SessionDeps;
  readonly #bucket: TokenBucket;
  #joinTimer: NodeJS.Timeout;
  /** The join being handled (or the last one), for the log line of its outcome. */
  #joinPhases?: PhaseTimer;
  #joinRoomId?: string;
  readonly #clientMetrics: ClientMetricsRecorder;
  readonly #roomListeners: { [K in keyof RoomPortEvents]: (...args: RoomPortEvents[K]) => void };
  readonly #participantListeners: { [K in keyof ParticipantPortEvents]: (...args: ParticipantPortEvents[K]) => void };
  readonly #socketListeners = {
    message: (data: RawData, isBinary: boolean) => this.#onFrame(data, isBinary),
    pong: () => this.#onPong(),
    close: (code: number) => this.#onSocketClosed(code),
    error: (error: Error) => this.#onSocketError(error),
  };

  constructor(socket: WebSocket, ip: string, deps: SessionDeps) {
    this.#socket = socket;
    this.ip = ip;
    this.#deps = deps;
    this.#bucket = new TokenBucket(deps.options.messagesPerSecond, deps.options.messageBurst, performance.now());
    this.#joinTimer = this.#armJoinTimer();
    this.#clientMetrics = new ClientMetricsRecorder(deps.metrics);
    // Hidden participants are never shown to others (docs/PROTOCOL.md, "Moderation"); they publish no tracks.
    this.#roomListeners = {
      participantJoined: (p) => p.identity !== this.identity && !p.hidden && this.send({ type: 'participantJoined', participant: p }),
      participantLeft: (identity, reason, hidden) => identity !== this.identity && !hidden && this.send({ type: 'participantLeft', identity, reason }),
      participantUpdated: (p) => (p.identity === this.identity || !p.hidden) && this.send({ type: 'participantUpdated', participant: p }),
      trackPublished: (track) => track.participantIdentity !== this.identity && this.send({ type: 'trackPublished', track }),
      // The owner is told only when the server unpublished it (a permission taken away): its client stops sending it.
      trackUnpublished: (track, reason) =>
        (track.participantIdentity !== this.identity || reason === 'permission') &&
        this.send({ type: 'trackUnpublished', trackId: track.trackId, participantIdentity: track.participantIdentity, reason }),
      trackMuted: (track, by) =>
        this.send({ type: 'trackMuted', trackId: track.trackId, participantIdentity: track.participantIdentity, muted: track.muted, ...(by ? { by } : {}) }),
      activeSpeakers: (speakers) => this.send({ type: 'activeSpeakers', speakers: [...speakers] }),
    };
    this.#participantListeners = {
      subscriberOffer: (offer) => this.send({ type: 'subscriberOffer', sdp: offer.sdp, tracks: offer.tracks }),
      trackState: (state) => this.send({ type: 'trackState', ...state }),
      publishLayers: (update) => this.send({ type: 'publishLayers', ...update }),
      iceCandidate: (target, candidate) => this.send({ type: 'trickle', target, candidate }),
      dataRejected: (rejection) => this.#sendError(rejection.code as ErrorCode, rejection.message, 'data'),
      failed: (failure) => {
        const connection = failure.code === 'CONNECTION_FAILED';
        this.#deps.metrics.connectionsRejected.inc({ reason: connection ? 'connection-failed' : 'negotiation-failed' });
        this.#sendError(connection ? ErrorCode.CONNECTION_FAILED : ErrorCode.NEGOTIATION_FAILED, failure.message);
        const [code, reason] = connection ? [CloseCode.CONNECTION_FAILED, 'connection-failed'] : [CloseCode.NEGOTIATION_FAILED, 'negotiation-failed'];
        this.close(code, failure.message, reason);
      },
      dataStalled: (stall) => {
        this.#deps.metrics.connectionsRejected.inc({ reason: 'data-stalled' });
        this.#sendError(ErrorCode.DATA_STALLED, `${stall.message}; disconnecting`, 'data');
        this.close(CloseCode.DATA_STALLED, 'data channel stalled', 'data-stalled');
      },
    };
    this.#bindSocket(socket);
  }

  get state(): State {
    return this.#state;
  }

  /** Sends now if the socket is open; once joined, also logs it for a resume (`rtt` excepted: stale by then). */
  send(message: ServerMessage): void {
    const frame = JSON.stringify(message);
    if (this.#sent && message.type !== 'rtt') this.#sent.push(frame);
    if (this.#state === 'detached' || this.#socket.readyState !== this.#socket.OPEN) return;
    this.#socket.send(frame);
  }

  /** Called by the service's heartbeat timer: closes a silent connection, else pings it. */
  heartbeat(now: number): void {
    if (this.#state === 'closed' || this.#state === 'detached') return;
    if (now - this.#lastPongAt > this.#deps.options.heartbeatTimeoutMs) {
      this.#deps.metrics.connectionsRejected.inc({ reason: 'heartbeat-timeout' });
      if (this.#sent) {
        // A silent socket of a resumable session: close it (ws destroys it if no close frame comes back) and wait for the client to resume.
        this.#socket.close(CloseCode.HEARTBEAT_TIMEOUT, 'heartbeat timeout');
        this.#detach('heartbeat-timeout');
        return;
      }
      this.close(CloseCode.HEARTBEAT_TIMEOUT, 'heartbeat timeout', 'heartbeat-timeout');
      return;
    }
    try {
      // Timed here, not at the tick's start: the RTT must not include the pings sent before this one.
      this.#pingSentAt = performance.now();
      this.#socket.ping();
    } catch {
      // The socket is closing; its close event cleans up.
    }
  }

  /** Tells the client why, then closes the socket; the participant leaves with `reason`. */
  close(code: number, message: string, reason: string, notice?: ServerMessage): void {
    if (this.#state === 'closed') return;
    this.#closeReason = reason;
    if (this.#state !== 'detached') {
      if (notice) this.send(notice);
      this.#socket.close(code, message.slice(0, 120));
    }
    this.#cleanup();
  }

  fail(error: SignalingError, requestType?: string, requestId?: number): void {
    this.#sendError(error.code, error.message, requestType, requestId);
    if (error.close !== undefined) {
      this.#deps.metrics.connectionsRejected.inc({ reason: error.code });
      this.close(error.close, error.message, error.code.toLowerCase());
    }
  }

  #onFrame(data: RawData, isBinary: boolean): void {
    if (this.#state === 'closed') return;
    if (this.#state === 'joined') this.#received++;
    if (!this.#allowMessage()) return;
    if (isBinary) {
      this.#deps.metrics.messagesReceived.inc({ type: 'invalid' });
      this.#sendError(ErrorCode.BINARY_NOT_SUPPORTED, 'binary frames are not part of the protocol; send JSON text');
      return;
    }
    let message: ClientMessage;
    try {
      message = parseClientMessage(data.toString());
    } catch (error) {
      this.#deps.metrics.messagesReceived.inc({ type: 'invalid' });
      this.fail(error as SignalingError, (error as SignalingError).requestType);
      return;
    }
    this.#deps.metrics.messagesReceived.inc({ type: message.type });
    if (this.#queue.length >= this.#deps.options.maxQueuedMessages) {
      this.#sendError(ErrorCode.RATE_LIMITED, `more than ${this.#deps.options.maxQueuedMessages} requests waiting; message dropped`, message.type);
      return;
    }
    this.#queue.push(message);
    if (!this.#processing) void this.#drainQueue();
  }

  /** Handles queued requests one at a time: a request starts only once the previous one has finished. */
  async #drainQueue(): Promise<void> {
    this.#processing = true;
    try {
      for (let message = this.#queue.shift(); message && this.#state !== 'closed'; message = this.#queue.shift()) {
        try {
          await this.#handle(message);
        } catch (error) {
          this.#reportFailure(error, message.type, 'requestId' in message ? message.requestId : undefined);
        }
      }
    } finally {
      this.#processing = false;
    }
  }

  /**
   * Errors on the socket. Protocol violations by the client (invalid UTF-8, oversized or malformed frames:
   * ws has already closed with 1007, 1009 or 1002) are the client's problem, logged without a stack and
   * counted; anything else (a reset connection) is routine.
   */
  #onSocketError(error: Error & { code?: string }): void {
    const code = error.code ?? 'unknown';
    if (code.startsWith('WS_ERR_')) {
      this.#deps.metrics.protocolErrors.inc({ code });
      this.#deps.logger.info({ code, reason: error.message, ip: this.ip, roomId: this.roomId, participantId: this.identity }, 'client broke the WebSocket protocol; closed');
    } else {
      this.#deps.logger.debug({ code, reason: error.message, ip: this.ip }, 'websocket error');
    }
  }

  /** Token bucket per connection; answers RATE_LIMITED at most once a second and closes abusers. */
  #allowMessage(): boolean {
    const now = performance.now();
    if (this.#bucket.take(now)) return true;
    if (now - this.#dropWindowStart >= 1000) {
      this.#dropWindowStart = now;
      this.#droppedThisSecond = 0;
    }
    this.#droppedThisSecond++;
    if (this.#droppedThisSecond > this.#deps.options.messagesPerSecond) {
      this.fail(new SignalingError(ErrorCode.RATE_LIMITED, 'message rate far above the limit', CloseCode.RATE_LIMITED));
    } else if (now - this.#lastRateErrorAt >= 1000) {
      this.#lastRateErrorAt = now;
      this.#sendError(ErrorCode.RATE_LIMITED, `more than ${this.#deps.options.messagesPerSecond} messages per second; message dropped`);
    }
    return false;
  }

  async #handle(message: ClientMessage): Promise<void> {
    if (message.type === 'join') return this.#join(message);
    if (message.type === 'resume') return this.#resume(message);
    if (message.type === 'ping') {
      this.send(message.id === undefined ? { type: 'pong' } : { type: 'pong', id: message.id });
      return;
    }
    if (this.#state !== 'joined' || !this.#participant) {
      throw new SignalingError(ErrorCode.NOT_JOINED, `"${message.type}" before joining; send join first`);
    }
    const participant = this.#participant;
    if (isModerationMessage(message)) {
      const { admin, logger, metrics } = this.#deps;
      handleModerationRequest(message, { roomId: this.roomId!, participant, admin, logger, actions: metrics.moderationActions });
      if (message.requestId !== undefined) this.send({ type: 'requestDone', requestId: message.requestId });
      return;
    }
    switch (message.type) {
      case 'publishOffer': {
        const startedAt = performance.now();
        const answer = await participant.publish(message.sdp, message.tracks);
        this.send({ type: 'publishAnswer', sdp: answer.sdp, tracks: answer.tracks });
        const negotiationMs = Math.round((performance.now() - startedAt) * 10) / 10;
        this.#deps.logger.info({ roomId: this.roomId, participantId: this.identity, tracks: answer.tracks.map((t) => `${t.kind}:${t.source}`), negotiationMs }, 'publish negotiated');
        return;
      }
      case 'clientMetrics': {
        const counted = this.#clientMetrics.record(message);
        if (counted) this.#deps.logger.info({ roomId: this.roomId, participantId: this.identity, ...counted }, 'client connect times');
        return;
      }
      case 'subscriberAnswer':
        return participant.answerSubscriber(message.sdp);
      case 'trickle':
        return participant.addIceCandidate(message.target, message.candidate);
      case 'iceRestart':
        return participant.restartIce(message.target);
      case 'unpublish':
        return participant.unpublish(message.trackId);
      case 'subscribe':
        return participant.requestSubscribe(message.trackIds);
      case 'unsubscribe':
        return participant.requestUnsubscribe(message.trackIds);
      case 'trackSettings': {
        const { type: _, trackIds, ...settings } = message;
        return participant.requestTrackSettings(trackIds, settings);
      }
      case 'leave':
        this.close(CloseCode.NORMAL, 'left', 'left');
        return;
    }
  }

  async #join(message: ClientMessageOf<'join'>): Promise<void> {
    if (this.#state !== 'awaiting-join') throw new SignalingError(ErrorCode.ALREADY_JOINED, 'this connection has already joined');
    this.#state = 'joining';
    clearTimeout(this.#joinTimer);
    const phases = (this.#joinPhases = new PhaseTimer());
    this.#joinRoomId = message.room;
    const { options, sfu, tokens } = this.#deps;
    if (message.protocolVersion !== undefined && message.protocolVersion > PROTOCOL_VERSION) {
      throw new SignalingError(ErrorCode.UNSUPPORTED_PROTOCOL_VERSION, `server speaks protocol ${PROTOCOL_VERSION}`, CloseCode.POLICY_VIOLATION);
    }
    const claims = await tokens.verify(message.token);
    phases.mark('token');
    if (this.#state !== 'joining') return; // the socket closed while the token was being checked
    if (claims.room !== message.room) {
      throw new SignalingError(ErrorCode.WRONG_ROOM, `token is for room "${claims.room}", not "${message.room}"`, CloseCode.WRONG_ROOM);
    }
    const location = await this.#deps.rooms.locate(message.room);
    phases.mark('locate');
    if (this.#state !== 'joining') return; // the socket closed meanwhile
    if (location.kind === 'elsewhere') {
      this.#deps.metrics.redirects.inc();
      this.#deps.logger.info({ roomId: message.room, participantId: claims.identity, ip: this.ip, nodeId: location.nodeId, ...phases.phases, totalMs: phases.totalMs }, 'join redirected');
      this.close(CloseCode.REDIRECT, `room is on node ${location.nodeId}`, 'redirect', { type: 'redirect', signalingUrl: location.signalingUrl, nodeId: location.nodeId });
      return;
    }
    // Without roomCreate (a student) the room must exist already (its teacher opened it, or it was created over the API).
    if (!claims.grants.roomCreate && !sfu.findRoom(message.room) && !this.#deps.roomSettings.settings(message.room)) {
      this.#deps.rooms.release?.(message.room);
      throw new SignalingError(ErrorCode.ROOM_NOT_FOUND, `room "${message.room}" does not exist and this token may not create it`, CloseCode.ROOM_NOT_FOUND);
    }
    this.#deps.findSession(message.room, claims.identity)?.close(CloseCode.REPLACED, 'replaced by a newer connection', 'replaced', {
      type: 'leave',
      reason: 'replaced',
    });
    sfu.findRoom(message.room)?.participant(claims.identity)?.close('replaced');
    // The room may have closed when the replaced participant left: look it up (or create it) now.
    const room = sfu.openRoom(message.room);
    const settings = this.#deps.roomSettings.settings(message.room);
    const max = Math.min(options.maxParticipantsPerRoom, settings?.maxParticipants || Infinity);
    if (room.participants.size >= max) throw new SignalingError(ErrorCode.ROOM_FULL, `room has ${max} participants`, CloseCode.ROOM_FULL);
    this.roomId = message.room;
    this.identity = claims.identity;
    const participant = room.join({ identity: claims.identity, name: claims.name, metadata: claims.metadata, grants: claims.grants, autoSubscribe: message.autoSubscribe ?? true });
    this.#participant = participant;
    this.#room = room;
    for (const [event, listener] of Object.entries(this.#participantListeners)) participant.on(event as never, listener as never);
    for (const [event, listener] of Object.entries(this.#roomListeners)) room.on(event as never, listener as never);
    this.#state = 'joined';
    const { resumeGraceMs } = options;
    if (resumeGraceMs > 0) this.resumeToken = randomBytes(18).toString('base64url');
    this.#deps.onJoined(this);
    this.send({
      type: 'joined',
      protocolVersion: PROTOCOL_VERSION,
      roomId: message.room,
      participant: participant.snapshot(),
      grants: claims.grants,
      participants: room.snapshot(claims.identity),
      iceServers: this.#deps.iceServers(claims.identity),
      limits: { maxDataMessageBytes: this.#deps.maxDataMessageBytes, maxMessageBytes: options.maxMessageBytes },
      heartbeat: { intervalMs: options.heartbeatIntervalMs, timeoutMs: options.heartbeatTimeoutMs },
      room: settings?.metadata ? { metadata: settings.metadata } : {},
      ...(this.resumeToken ? { resume: { token: this.resumeToken, graceMs: resumeGraceMs } } : {}),
    });
    if (this.resumeToken) this.#sent = new ResumeLog(RESUME_LOG_FRAMES, RESUME_LOG_CHARS);
    // Changes alone would leave a late joiner without the speaker of the moment.
    if (room.activeSpeakers.length > 0) this.send({ type: 'activeSpeakers', speakers: [...room.activeSpeakers] });
    phases.mark('roomJoin');
    const totalMs = phases.totalMs;
    this.#deps.metrics.joinSeconds.observe(totalMs / 1000);
    this.#deps.logger.info({ roomId: message.room, participantId: claims.identity, ip: this.ip, ...phases.phases, totalMs }, 'joined');
  }

  /** Hands this (new, not joined) socket to the session named by the token, which replays what it sent meanwhile. */
  #resume(message: ClientMessageOf<'resume'>): void {
    if (this.#state !== 'awaiting-join') throw new SignalingError(ErrorCode.ALREADY_JOINED, 'this connection has already joined');
    const target = this.#deps.findResumable(message.token);
    const missed = target && target.#sent ? target.#sent.after(message.lastReceived) : undefined;
    if (!target || !missed || (target.#state !== 'joined' && target.#state !== 'detached')) {
      this.#deps.metrics.resumes.inc({ outcome: 'failed' });
      throw new SignalingError(ErrorCode.RESUME_FAILED, 'no session to resume (its grace period ended or too much was missed); join again');
    }
    const socket = this.#socket;
    this.#unbindSocket();
    this.#state = 'closed';
    clearTimeout(this.#joinTimer);
    this.#deps.onClosed(this);
    target.#adopt(socket, missed);
  }

  /** A resumed client's new socket replaces the old one (dropped or silent): `resumed`, then what it missed. */
  #adopt(socket: WebSocket, missed: string[]): void {
    if (this.#state === 'joined') {
      this.#unbindSocket();
      this.#socket.terminate();
    }
    clearTimeout(this.#graceTimer);
    this.#graceTimer = undefined;
    this.#bindSocket(socket);
    this.#state = 'joined';
    this.#lastPongAt = performance.now();
    this.#pingSentAt = 0;
    socket.send(JSON.stringify({ type: 'resumed', lastReceived: this.#received } satisfies ServerMessage));
    for (const frame of missed) socket.send(frame);
    this.#deps.metrics.resumes.inc({ outcome: 'resumed' });
    this.#deps.logger.info({ roomId: this.roomId, participantId: this.identity, replayed: missed.length }, 'session resumed');
  }

  /** The socket of a resumable session is gone: the participant stays (media flowing) for the grace period. */
  #detach(reason: string): void {
    this.#unbindSocket();
    this.#state = 'detached';
    this.#closeReason = reason;
    this.#graceTimer = setTimeout(() => {
      this.#deps.metrics.resumes.inc({ outcome: 'expired' });
      this.#cleanup();
    }, this.#deps.options.resumeGraceMs);
    this.#deps.logger.info({ roomId: this.roomId, participantId: this.identity, reason, graceMs: this.#deps.options.resumeGraceMs }, 'socket lost; waiting for a resume');
  }

  #bindSocket(socket: WebSocket): void {
    this.#socket = socket;
    for (const [event, listener] of Object.entries(this.#socketListeners)) socket.on(event, listener);
  }

  #unbindSocket(): void {
    for (const [event, listener] of Object.entries(this.#socketListeners)) this.#socket.off(event, listener);
    // A reset while it closes must not be an unhandled 'error'.
    this.#socket.on('error', () => undefined);
  }

  #reportFailure(error: unknown, requestType: string, requestId?: number): void {
    if (this.#state === 'closed') return;
    // A join that failed without closing the socket (e.g. a race with another join of the same identity) may be retried.
    if (requestType === 'join' && this.#state === 'joining') {
      this.#state = 'awaiting-join';
      this.#joinTimer = this.#armJoinTimer(); // a retry must come in time too
    }
    if (error instanceof SignalingError) {
      this.fail(error, requestType, requestId);
      return;
    }
    const name = error instanceof Error ? error.name : '';
    const code = sfuErrorCodes[name];
    if (code) {
      this.#sendError(code, (error as Error).message, requestType, requestId);
      return;
    }
    this.#deps.logger.error({ err: error, requestType, roomId: this.roomId, participantId: this.identity }, 'request failed');
    this.#sendError(ErrorCode.INTERNAL, 'internal error; it has been logged', requestType, requestId);
  }

  #armJoinTimer(): NodeJS.Timeout {
    return setTimeout(() => {
      if (this.#state === 'awaiting-join') this.fail(new SignalingError(ErrorCode.JOIN_TIMEOUT, 'no join message in time', CloseCode.JOIN_TIMEOUT));
    }, this.#deps.options.joinTimeoutMs);
  }

  #sendError(code: ErrorCode, message: string, requestType?: string, requestId?: number): void {
    this.#deps.metrics.errorsSent.inc({ code });
    if (requestType === 'join' || code === ErrorCode.JOIN_TIMEOUT) this.#joinFailed(code, message);
    this.send({ type: 'error', code, message, ...(requestType ? { requestType } : {}), ...(requestId !== undefined ? { requestId } : {}) });
  }

  /** One line per refused join, with how far it got and how long each phase took (PhaseTimer). */
  #joinFailed(code: ErrorCode, message: string): void {
    this.#deps.metrics.joinFailures.inc({ reason: code });
    const phases = this.#joinPhases;
    this.#deps.logger.info({ reason: code, message, ip: this.ip, roomId: this.#joinRoomId, ...phases?.phases, totalMs: phases?.totalMs }, 'join refused');
  }

  #onPong(): void {
    const now = performance.now();
    this.#lastPongAt = now;
    if (this.#pingSentAt === 0) return;
    const rttMs = now - this.#pingSentAt;
    this.#pingSentAt = 0;
    this.#deps.metrics.rttSeconds.observe(rttMs / 1000);
    if (this.#state === 'joined') this.send({ type: 'rtt', rttMs: Math.round(rttMs * 10) / 10 });
  }

  #onSocketClosed(code: number): void {
    if (this.#state === 'joined' && this.#sent && RESUMABLE_CLOSES.has(code)) this.#detach('socket-lost');
    else this.#cleanup();
  }

  #cleanup(): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    clearTimeout(this.#joinTimer);
    clearTimeout(this.#graceTimer);
    this.#queue.length = 0;
    this.#sent = undefined;
    const room = this.#room;
    const participant = this.#participant;
    if (room) for (const [event, listener] of Object.entries(this.#roomListeners)) room.off(event as never, listener as never);
    if (participant) {
      for (const [event, listener] of Object.entries(this.#participantListeners)) participant.off(event as never, listener as never);
      participant.close(this.#closeReason);
    }
    this.#room = undefined;
    this.#participant = undefined;
    this.#deps.onClosed(this);
  }
}
