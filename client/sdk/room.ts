import type { ParticipantInfo, PermissionsUpdate, ServerMessage, TrackSourceName } from '../../signaling/messages.js';
import { Moderation } from './moderation.js';
import { ActiveSpeakers, type ActiveSpeaker } from './active-speakers.js';
import { ConnectionQualitySampler } from './connection-quality-sampler.js';
import { ConnectTimings } from './connect-timings.js';
import type { SendDataOptions } from './data-channels.js';
import { TypedEmitter } from './emitter.js';
import { VideoObservers } from './video-observers.js';
import { ClientErrorCode, InvalidStateError, PermissionDeniedError, RequestError } from './errors.js';
import { RemoteParticipant, type RemoteTrackInfo } from './participant.js';
import type { PeerTransportHooks } from './peer-transport.js';
import { Publisher, type LocalTrack, type PublishEntry } from './publisher.js';
import { reconnectAfterClose, reconnectDelayMs, retryJoinAfter } from './reconnect-policy.js';
import { DEFAULT_ICE_RECOVERY_TIMING } from './ice-recovery.js';
import { RemoteRoster } from './remote-roster.js';
import type { ConnectionQuality, PublishOptions, PublishSources, RoomEvents, RoomOptions, TrackSettings } from './room-types.js';
import { joinRoom, type Joined, type JoinRequest } from './join.js';
import { ResumableSignal } from './resumable-signal.js';
import { reachable, resumeOnce } from './resume.js';
import type { SignalClient } from './signal-client.js';
import { Subscriber } from './subscriber.js';
import { decodeTokenClaims } from './token.js';

const DEFAULT_JOIN_TIMEOUT_MS = 10_000;
const DEFAULT_REQUEST_TIMEOUT_MS = 15_000;
/** After sending `leave`, how long to wait for the server to close the socket before closing it ourselves. */
const LEAVE_TIMEOUT_MS = 2_000;
/** How long the SDK keeps trying to join again after losing the session before it gives up (`disconnected`). */
const DEFAULT_RECONNECT_TIMEOUT_MS = 60_000;
/** A token expiring within this is refreshed (RoomOptions.refreshToken) before joining again. */
const TOKEN_REFRESH_MARGIN_MS = 10_000;
/** A resume is tried until this long before the server's grace period ends; then the SDK joins again. */
const RESUME_MARGIN_MS = 1_000;
/** Closes after which the session may be resumed: the socket dropped (1006), the SDK (4000) or the server (4005) found it silent. */
const RESUMABLE_CLOSES = new Set([1006, 4000, 4005]);

type RoomState = 'connected' | 'reconnecting' | 'leaving' | 'closed';

/**
 * A joined room: one signaling socket, a subscriber peer connection (media down, data both ways) and, once
 * something is published, a publisher peer connection. Create with `Room.connect()`.
 */
export class Room extends TypedEmitter<RoomEvents> {
  readonly roomId: string;
  readonly localIdentity: string;
  readonly localName: string | undefined;
  /** The token's grants, as the server read them at the last join (what moderators changed since: `localParticipant.permissions`). */
  grants: Joined['grants'];
  limits: Joined['limits'];
  /** Everyone else in the room, by identity. */
  readonly participants: Map<string, RemoteParticipant>;
  /** Latest round-trip time reported by the server, in ms. */
  rttMs: number | undefined;
  /** The room's metadata (set through the room service API); empty when none. `roomUpdated` tells changes. */
  metadata = '';

  private state: RoomState = 'connected';
  private signal!: ResumableSignal;
  private subscriber!: Subscriber;
  private publisher!: Publisher;
  /** Requests answered with `requestDone`, this client's live info, the server's moderation messages (moderation.ts). */
  private readonly moderation: Moderation;
  /** What was published, to publish again after a rejoin. */
  private readonly publishedEntries = new Map<MediaStreamTrack, PublishEntry>();
  /** Tracks the SDK captured itself (publishCamera/publishMicrophone) and stops on unpublish/leave. */
  private readonly ownedTracks = new Set<MediaStreamTrack>();
  /** `observeVideo()`'s observers, by track id; each stops when its track is unsubscribed. */
  private readonly videoObservers = new VideoObservers((trackIds, settings) => {
    if (this.state !== 'connected') return;
    this.signal.send({ type: 'trackSettings', trackIds, ...settings });
    this.qualitySampler.conditions.settingsSent(trackIds, settings, performance.now());
  });
  private readonly roster = new RemoteRoster((event, ...args) => {
    if (event === 'trackUnsubscribed' || event === 'trackUnpublished') {
      const { trackId } = (args as RoomEvents['trackUnsubscribed' | 'trackUnpublished'])[0];
      this.videoObservers.stop(trackId);
      this.qualitySampler.conditions.forget(trackId);
    }
    if (event === 'participantLeft') this.qualitySampler.forget((args as RoomEvents['participantLeft'])[0].identity);
    this.emit(event, ...args);
  });
  /** Who speaks, from the server's `activeSpeakers` (active-speakers.ts). */
  private readonly speakers = new ActiveSpeakers((speakers) => this.emit('activeSpeakersChanged', speakers));
  /** Connection quality per participant, from both connections' stats every 2 s. */
  private qualitySampler!: ConnectionQualitySampler;
  private leaveReason: string | undefined;
  /** The server refused the token as expired: refresh it before the next join whatever its `exp` says. */
  private tokenRejected = false;
  private readonly closed: Promise<void>;
  private resolveClosed!: () => void;

  /**
   * Opens the socket, sends `join` and resolves once `joined` arrives. Rejects with a `RequestError` carrying
   * the server's code (e.g. `TOKEN_EXPIRED`) when the server refuses.
   */
  static async connect(url: string, token: string, options: RoomOptions = {}): Promise<Room> {
    const roomId = options.roomId ?? decodeTokenClaims(token)?.room;
    if (roomId === undefined || roomId === '') throw new TypeError('no roomId given and the token has no "room" claim');
    const timeoutMs = options.joinTimeoutMs ?? DEFAULT_JOIN_TIMEOUT_MS;
    const request = { roomId, token, autoSubscribe: options.autoSubscribe ?? true, timeoutMs };
    const { signal, joined, url: joinedAt } = await joinRoom(url, request);
    // In the task that read `joined`: the Room takes over the socket before the next frame (the subscriberOffer).
    return new Room(signal, joined, joinedAt, options, [url, ...(options.urls ?? []).filter((u) => u !== url)], request);
  }

  private constructor(
    signal: SignalClient,
    joined: Joined,
    /** Where the session lives (after redirects): a resume goes there. */
    private joinedAt: string,
    private readonly options: RoomOptions,
    /** Where to join again: the URL connected to first, then the application's others. */
    private readonly urls: readonly string[],
    private readonly joinRequest: JoinRequest,
  ) {
    super();
    this.closed = new Promise((resolve) => (this.resolveClosed = resolve));
    this.roomId = joined.roomId;
    this.localIdentity = joined.participant.identity;
    this.localName = joined.participant.name;
    this.grants = joined.grants;
    this.limits = joined.limits;
    this.participants = this.roster.participants;
    for (const p of joined.participants) this.roster.add(new RemoteParticipant(p));
    this.moderation = new Moderation(joined.participant, options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS, {
      send: (msg) => this.signal.send(msg),
      emit: (event, ...args) => this.emit(event, ...args),
      participants: this.participants,
      localTrack: (trackId) => this.publisher.tracks.find((t) => t.trackId === trackId),
      localTrackRemoved: (trackId, reason) =>
        void this.publisher.forget(trackId).then((local) => {
          if (local === undefined) return;
          this.publishedEntries.delete(local.track);
          if (this.ownedTracks.delete(local.track)) local.track.stop();
          this.emit('localTrackUnpublished', trackId, reason);
        }),
    });
    this.attach(signal, joined);
  }

  /** Builds the session on a joined socket: both peer connections, the quality sampler, the socket's handlers. */
  private attach(socket: SignalClient, joined: Joined): void {
    const options = this.options;
    const signal = new ResumableSignal(socket, joined.resume, joined.heartbeat.intervalMs);
    this.signal = signal;
    this.grants = joined.grants;
    this.limits = joined.limits;
    this.metadata = joined.room?.metadata ?? '';
    const rtcConfig: RTCConfiguration = {
      ...options.rtcConfig,
      iceServers:
        options.rtcConfig?.iceServers ??
        joined.iceServers.map((s) => ({ urls: s.urls, username: s.username, credential: s.credential })),
    };
    const timings = new ConnectTimings((report) => this.signal === signal && this.state === 'connected' && signal.send(report));
    timings.websocketOpened(socket.openMs);
    const transportHooks: PeerTransportHooks = {
      localCandidate: (target, candidate) => signal.send({ type: 'trickle', target, candidate }),
      candidateFailed: (target, err) =>
        this.reportError(ClientErrorCode.ICE_CANDIDATE_FAILED, `${target}: ${describe(err)}`, 'trickle'),
      iceRestarting: (target, reason) => this.emit('iceRestarting', { peer: target, reason }),
      iceRestarted: (target, outageMs, restarts) => this.emit('iceRestarted', { peer: target, outageMs: Math.round(outageMs), restarts }),
      iceConnected: (target, pc, ms) => void timings.iceConnected(target, pc, ms),
      // ICE restarts did not bring the connection back (ice-recovery.ts): join again.
      connectionFailed: (target) => {
        if (this.signal === signal) void this.reconnect(0, `${target}-connection-failed`);
      },
      iceRecoveryTiming: { ...DEFAULT_ICE_RECOVERY_TIMING, timeoutMs: options.iceRestartTimeoutMs ?? DEFAULT_ICE_RECOVERY_TIMING.timeoutMs },
    };
    this.subscriber = new Subscriber(rtcConfig, {
      ...transportHooks,
      send: (msg) => signal.send(msg),
      trackStarted: (trackId, track, stream) => this.roster.trackStarted(trackId, track, stream),
      trackEnded: (trackId) => this.roster.trackEnded(trackId),
      negotiationFailed: (err) => this.reportError(ClientErrorCode.NEGOTIATION_FAILED, `subscriber: ${describe(err)}`, 'subscriberOffer'),
      message: (msg) => this.emit('data', msg),
      malformed: (reason) => this.reportError(ClientErrorCode.MALFORMED_DATA, reason, 'data'),
    });
    this.publisher = new Publisher(rtcConfig, options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS, {
      ...transportHooks,
      send: (msg) => signal.send(msg),
      trackNotAccepted: (mid, track) =>
        this.reportError(ClientErrorCode.TRACK_NOT_ACCEPTED, `the server did not publish ${track.kind} m-line ${mid}`, 'publishOffer'),
      setMuted: (trackId, muted) => this.moderation.request({ type: 'muteTrack', trackId, muted }),
    });
    const { localIdentity, participants, subscriber, publisher } = this;
    this.qualitySampler = new ConnectionQualitySampler({ localIdentity, participants, subscriber, publisher }, (identity, quality) =>
      this.emit('connectionQualityChanged', identity, quality),
    );
    signal.handlers = {
      message: (msg) => this.handleMessage(msg),
      malformed: (reason) => this.reportError(ClientErrorCode.MALFORMED_SERVER_MESSAGE, reason),
      close: (code, reason) => {
        const why = this.leaveReason ?? (reason || (this.state === 'leaving' ? 'left' : ''));
        if (this.state !== 'connected' || this.options.reconnect === false || !reconnectAfterClose(code)) this.teardown(code, why);
        else if (signal.resume && RESUMABLE_CLOSES.has(code)) void this.resume(signal, code, why);
        else void this.reconnect(code, why);
      },
    };
  }

  /** Takes the session down without closing the room: the socket, both connections, what was received. */
  private detach(reason: string): void {
    this.signal.handlers = undefined;
    this.signal.close(1000);
    this.qualitySampler.stop();
    this.publisher.close();
    this.subscriber.close();
    this.videoObservers.stopAll();
    this.speakers.clear();
    this.roster.reset([], reason);
  }

  /**
   * The socket dropped but the server keeps the session for its grace period: resume it on a new socket to the same
   * node, with backoff, while the grace lasts. Media never stops and nothing is torn down; requests made meanwhile
   * are sent once resumed. `reconnecting`, then `reconnected`; if the session cannot be resumed, a full rejoin.
   */
  private async resume(signal: ResumableSignal, code: number, reason: string): Promise<void> {
    this.emit('reconnecting', { code, reason });
    const deadline = Date.now() + signal.resume!.graceMs - RESUME_MARGIN_MS;
    for (let attempt = 0; Date.now() < deadline; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, reconnectDelayMs(attempt)));
      if (this.signal !== signal || this.state !== 'connected') return; // left, or a rejoin took over
      const outcome = await resumeOnce(this.joinedAt, signal, Math.max(500, Math.min(this.joinRequest.timeoutMs, deadline - Date.now())));
      if (this.signal !== signal || this.state !== 'connected') {
        if (outcome === 'resumed') signal.close();
        return;
      }
      if (outcome === 'resumed') {
        this.emit('reconnected');
        return;
      }
      if (outcome === 'refused' || (outcome === 'unreachable' && (await this.otherNodeReachable()))) break;
    }
    await this.reconnect(code, `${reason}; could not resume`, true);
  }

  /** Another of the URLs answers while the session's node does not: that node is gone, and only a rejoin elsewhere helps. */
  private async otherNodeReachable(): Promise<boolean> {
    for (const url of this.urls) if (url !== this.joinedAt && (await reachable(url, 1000))) return true;
    return false;
  }

  /**
   * The session was lost (the node died or drains, the room moved, a connection failed): join again, through the
   * URLs in turn with backoff and jitter, for up to `reconnectTimeoutMs`; then publish again what was published and
   * take the room's participants afresh. `reconnecting` first, then `reconnected`, or `disconnected` when it gives up.
   */
  private async reconnect(code: number, reason: string, announced = false): Promise<void> {
    if (this.state !== 'connected') return;
    this.state = 'reconnecting';
    this.leaveReason = undefined;
    if (!announced) this.emit('reconnecting', { code, reason });
    this.detach('reconnecting');
    const deadline = Date.now() + (this.options.reconnectTimeoutMs ?? DEFAULT_RECONNECT_TIMEOUT_MS);
    let lastError = reason;
    // URLs whose socket did not open, in a row: the next URL is tried at once until each has been (a dead node's
    // URL refuses at once, and waiting on it would only delay the live one).
    let unreachableInRow = 0;
    for (let attempt = 0; Date.now() < deadline; attempt++) {
      if (unreachableInRow === 0 || unreachableInRow % this.urls.length === 0) await new Promise((resolve) => setTimeout(resolve, reconnectDelayMs(attempt)));
      if (this.state !== 'reconnecting') return;
      const url = this.urls[attempt % this.urls.length];
      let result: Awaited<ReturnType<typeof joinRoom>>;
      try {
        await this.refreshTokenIfExpiring();
        result = await joinRoom(url, { ...this.joinRequest, timeoutMs: Math.min(this.joinRequest.timeoutMs, Math.max(1000, deadline - Date.now())) });
      } catch (err) {
        lastError = describe(err);
        unreachableInRow = err instanceof RequestError ? 0 : unreachableInRow + 1;
        const expired = err instanceof RequestError && err.code === 'TOKEN_EXPIRED' && this.options.refreshToken !== undefined;
        if (expired) this.tokenRejected = true; // the server's clock is ahead of ours: refresh whatever exp says
        else if (err instanceof RequestError && !retryJoinAfter(err.code)) break;
        continue;
      }
      if (this.state !== 'reconnecting') {
        result.signal.handlers = undefined;
        result.signal.close(1000);
        return;
      }
      // In the task that read `joined`, as at the first join.
      this.state = 'connected';
      this.joinedAt = result.url;
      this.attach(result.signal, result.joined);
      this.moderation.reset(result.joined.participant); // the token's permissions again: moderators' changes were the old session's
      this.roster.reset(result.joined.participants.map((p) => new RemoteParticipant(p)), 'reconnected');
      void this.republish().then(() => this.emit('reconnected'));
      return;
    }
    if (this.state !== 'reconnecting') return;
    this.state = 'connected'; // teardown closes from here
    this.teardown(code, `reconnect-failed: ${lastError}`);
  }

  /**
   * Before joining again: a token that has expired (or will within TOKEN_REFRESH_MARGIN_MS) is replaced with
   * `options.refreshToken()`'s, if the application gave one. Its failure is this try's failure.
   */
  private async refreshTokenIfExpiring(): Promise<void> {
    const refresh = this.options.refreshToken;
    if (!refresh) return;
    const exp = decodeTokenClaims(this.joinRequest.token)?.exp;
    if (!this.tokenRejected && (exp === undefined || exp * 1000 > Date.now() + TOKEN_REFRESH_MARGIN_MS)) return;
    this.joinRequest.token = await refresh();
    this.tokenRejected = false;
  }

  /** After a rejoin: every track published before, in one negotiation. */
  private async republish(): Promise<void> {
    const entries = [...this.publishedEntries.values()].filter((e) => e.track.readyState === 'live');
    if (entries.length === 0 || !this.permissions.canPublish) return;
    try {
      await this.publisher.publish(entries);
    } catch (err) {
      this.reportError(ClientErrorCode.NEGOTIATION_FAILED, `publishing again after reconnecting: ${describe(err)}`, 'publishOffer');
    }
  }

  /** Whether the room is still connected (false once leaving or disconnected). */
  get connected(): boolean {
    return this.state === 'connected';
  }

  /**
   * A participant's connection quality (`excellent`, `good`, `poor`, `lost`; this client's own identity included),
   * as last reported by `connectionQualityChanged`; undefined before the first judgement (2 s after joining or
   * after they join), for anyone not in the room, and once the room is closed.
   */
  connectionQuality(identity: string): ConnectionQuality | undefined {
    return this.qualitySampler.quality(identity);
  }

  /** Who speaks now, loudest first (this client too), as last reported by `activeSpeakersChanged`. */
  get activeSpeakers(): readonly ActiveSpeaker[] {
    return this.speakers.list;
  }

  /** This client as the server last described it: live permissions (moderators may change them), metadata, name. */
  get localParticipant(): ParticipantInfo {
    return this.moderation.local;
  }

  private get permissions(): ParticipantInfo['permissions'] {
    return this.moderation.local.permissions;
  }

  /** roomAdmin: mutes another participant's track now (everyone is told), or with false asks its owner to unmute. */
  muteParticipantTrack(identity: string, trackId: string, muted: boolean): Promise<void> {
    return this.moderate({ type: 'muteParticipantTrack', identity, trackId, muted });
  }

  /** roomAdmin: removes a participant (it is disconnected with 4013 and does not reconnect). */
  removeParticipant(identity: string): Promise<void> {
    return this.moderate({ type: 'removeParticipant', identity });
  }

  /** roomAdmin: changes a participant's permissions (applied at once), metadata and/or name. */
  updateParticipant(identity: string, update: { permissions?: PermissionsUpdate; metadata?: string; name?: string }): Promise<void> {
    return this.moderate({ type: 'updateParticipant', identity, ...update });
  }

  /** Own metadata (e.g. a raised hand); needs canUpdateOwnMetadata (or roomAdmin). Everyone gets `participantUpdated`. */
  setMetadata(metadata: string): Promise<void> {
    return this.moderate({ type: 'updateMetadata', metadata });
  }

  /** Own display name; needs canUpdateOwnMetadata (or roomAdmin). */
  setName(name: string): Promise<void> {
    return this.moderate({ type: 'updateMetadata', name });
  }

  /** Resolves on the server's `requestDone`, rejects with a RequestError carrying its code (e.g. PERMISSION_DENIED). */
  private moderate(request: Parameters<Moderation['request']>[0]): Promise<void> {
    this.assertConnected(request.type);
    return this.moderation.request(request);
  }

  /** Tracks this client publishes, by track id. */
  get localTracks(): Map<string, LocalTrack> {
    return new Map(this.publisher.tracks.map((t) => [t.trackId, t]));
  }

  /** Publishes every track of `stream` (or the given tracks) in one negotiation; resolves with their infos. */
  async publish(stream: MediaStream | MediaStreamTrack[], options: PublishOptions = {}): Promise<LocalTrack[]> {
    this.assertConnected('publish');
    // Live: a moderator may have granted it since the join (or taken it away).
    if (!this.permissions.canPublish) throw new PermissionDeniedError('this participant may not publish (canPublish)');
    const tracks = Array.isArray(stream) ? stream : stream.getTracks();
    if (tracks.length === 0) throw new TypeError('publish() needs at least one track');
    const mediaStream = Array.isArray(stream) ? new MediaStream(stream) : stream;
    const entries = tracks.map((track, i) => ({ track, stream: mediaStream, source: pickSource(options.sources, track, i), simulcast: options.simulcast }));
    const published = await this.publisher.publish(entries);
    for (const entry of entries) if (published.some((local) => local.track === entry.track)) this.publishedEntries.set(entry.track, entry);
    return published;
  }

  /** Captures the camera and publishes it; the SDK stops the track when it is unpublished or the room closes. */
  publishCamera(constraints: MediaTrackConstraints | true = true): Promise<LocalTrack> {
    return this.publishCaptured({ video: constraints }, 'camera');
  }

  /** Captures the microphone and publishes it; the SDK stops the track when it is unpublished or the room closes. */
  publishMicrophone(constraints: MediaTrackConstraints | true = true): Promise<LocalTrack> {
    return this.publishCaptured({ audio: constraints }, 'microphone');
  }

  /**
   * Starts receiving these tracks (by track id), for a room joined with `autoSubscribe: false` or tracks
   * unsubscribed earlier. Each arrives as a `trackSubscribed` event once the server's next offer is applied. The
   * server refuses the whole request (an `error` event, `requestType: "subscribe"`) when a track is unknown or
   * the participant would receive more than its limit of tracks (`LIMIT_EXCEEDED`).
   */
  subscribe(trackIds: string | readonly string[]): void {
    this.assertConnected('subscribe');
    if (!this.permissions.canSubscribe) throw new PermissionDeniedError('this participant may not subscribe (canSubscribe)');
    const ids = typeof trackIds === 'string' ? [trackIds] : [...trackIds];
    if (ids.length > 0) this.signal.send({ type: 'subscribe', trackIds: ids });
  }

  /**
   * How this client shows received video tracks (adaptive stream, docs/PROTOCOL.md): `enabled: false` when not
   * shown (nothing is sent), `width`/`height` the size shown at in device pixels (no larger layer is sent),
   * `quality` an upper bound. The server answers changes with `trackState` events. `observeVideo()` sends these
   * by itself from the element showing the track.
   */
  setTrackSettings(trackIds: string | readonly string[], settings: TrackSettings): void {
    this.assertConnected('trackSettings');
    const ids = typeof trackIds === 'string' ? [trackIds] : [...trackIds];
    if (ids.length === 0) return;
    this.signal.send({ type: 'trackSettings', trackIds: ids, ...settings });
    this.qualitySampler.conditions.settingsSent(ids, settings, performance.now());
  }

  /**
   * Reports how a received video track is shown, from the element showing it (adaptive stream, as LiveKit's
   * `adaptiveStream`): sends `trackSettings` with `enabled: false` while `element` is not visible (no size, e.g.
   * `display: none`; outside the viewport; the tab hidden), else `enabled: true` and its CSS size ×
   * `devicePixelRatio` as `width`/`height`, so the server sends the smallest layer covering it and nothing while
   * hidden. Size changes and hides are sent after 100 ms without change (and up to 25 ms more, so that tiles resized together go in one message); showing is sent at once. One observer
   * per track: a second call for the same track replaces the first. It stops when the returned function is
   * called, when the track is unsubscribed and when the room closes; the last settings sent stay in effect. Each
   * message replaces the track's settings, so do not mix it with `setTrackSettings()` (e.g. a `quality`) for the
   * same track. Throws `InvalidStateError` unless `trackId` is a video track this client receives now.
   */
  observeVideo(trackId: string, element: HTMLVideoElement): () => void {
    this.assertConnected('observeVideo');
    if (this.receivedTrack(trackId)?.kind !== 'video') {
      throw new InvalidStateError(`observeVideo(): ${trackId} is not a video track this client receives`);
    }
    return this.videoObservers.observe(trackId, element);
  }

  /** Stops receiving these tracks; each ends with a `trackUnsubscribed` event once the server's offer is applied. */
  unsubscribe(trackIds: string | readonly string[]): void {
    this.assertConnected('unsubscribe');
    const ids = typeof trackIds === 'string' ? [trackIds] : [...trackIds];
    if (ids.length > 0) this.signal.send({ type: 'unsubscribe', trackIds: ids });
  }

  /** The participant whose tracks arrive in `stream` (its id is the publisher's opaque `sid`). */
  participantForStream(stream: MediaStream): RemoteParticipant | undefined {
    return this.roster.forStream(stream);
  }

  /** Stops publishing one track (no renegotiation). Tracks the app captured itself are not stopped. */
  async unpublish(trackId: string): Promise<void> {
    this.assertConnected('unpublish');
    const local = await this.publisher.unpublish(trackId);
    this.publishedEntries.delete(local.track);
    if (this.ownedTracks.delete(local.track)) local.track.stop();
  }

  /**
   * Sends a data message to everyone else (or `to`). Messages sent before the data channel opens are queued.
   * The server drops messages over `limits.maxDataMessageBytes` and reports `DATA_TOO_LARGE` as an `error` event.
   */
  sendData(payload: string | Uint8Array, options: SendDataOptions = {}): void {
    this.assertConnected('sendData');
    if (!this.permissions.canPublishData) throw new PermissionDeniedError('this participant may not send data (canPublishData)');
    this.subscriber.data.send(payload, options);
  }

  /** Sends `leave` and resolves once the socket is closed. Idempotent. */
  async leave(): Promise<void> {
    if (this.state === 'reconnecting') {
      this.state = 'connected';
      this.teardown(1000, 'left');
    }
    if (this.state !== 'connected') return this.closed;
    this.state = 'leaving';
    this.signal.send({ type: 'leave' });
    const timer = setTimeout(() => this.teardown(1000, 'left'), LEAVE_TIMEOUT_MS);
    await this.closed;
    clearTimeout(timer);
  }

  private handleMessage(msg: ServerMessage): void {
    if (this.state === 'closed') return;
    if (msg.type === 'trackUnpublished' && this.moderation.handleOwnUnpublish(msg, this.localIdentity)) return;
    if (Moderation.handles(msg)) return this.moderation.handle(msg);
    if (RemoteRoster.handles(msg)) {
      this.roster.handle(msg);
      return;
    }
    switch (msg.type) {
      case 'publishAnswer':
        this.publisher.handleAnswer(msg);
        return;
      case 'subscriberOffer':
        void this.subscriber.handleOffer(msg.sdp, msg.tracks);
        return;
      case 'trickle':
        if (msg.target === 'subscriber') void this.subscriber.transport.addRemoteCandidate(msg.candidate);
        else this.publisher.handleRemoteCandidate(msg.candidate);
        return;
      case 'rtt':
        this.rttMs = msg.rttMs;
        this.emit('rtt', msg.rttMs);
        return;
      case 'error':
        if (this.moderation.handleError(msg)) return;
        if (msg.requestType === 'publishOffer') this.publisher.handleError(msg.code, msg.message);
        if (msg.requestType === 'subscriberAnswer') this.subscriber.answerRefused();
        this.emit('error', { code: msg.code, message: msg.message, requestType: msg.requestType });
        return;
      case 'leave':
        // The server closes the socket next; `disconnected` carries this reason.
        this.leaveReason = msg.reason;
        return;
      case 'trackState':
        this.qualitySampler.conditions.trackState(msg.trackId, msg, performance.now());
        this.emit('trackState', msg.trackId, { paused: msg.paused, layer: msg.layer, ...(msg.maxTemporalLayer !== undefined ? { maxTemporalLayer: msg.maxTemporalLayer } : {}) });
        return;
      case 'publishLayers':
        this.publisher.setLayersActive(msg.trackId, msg.layers);
        return;
      case 'activeSpeakers':
        this.speakers.update(msg.speakers, this.localIdentity, this.participants);
        return;
      case 'roomUpdated':
        this.metadata = msg.metadata;
        this.emit('roomUpdated', msg.metadata);
        return;
      case 'joined':
        return;
      default:
        // A newer server's message type: ignore.
        return;
    }
  }

  private receivedTrack(trackId: string): RemoteTrackInfo | undefined {
    for (const participant of this.participants.values()) {
      const info = participant.tracks.get(trackId);
      if (info !== undefined) return info.track !== undefined ? info : undefined;
    }
    return undefined;
  }

  private async publishCaptured(constraints: MediaStreamConstraints, source: TrackSourceName): Promise<LocalTrack> {
    this.assertConnected('publish');
    const stream = await navigator.mediaDevices.getUserMedia(constraints);
    const [track] = stream.getTracks();
    try {
      this.assertConnected('publish');
      this.ownedTracks.add(track);
      const [local] = await this.publish(stream, { sources: [source] });
      if (local === undefined) throw new RequestError(ClientErrorCode.TRACK_NOT_ACCEPTED, `the server did not publish the ${source}`, 'publishOffer');
      return local;
    } catch (err) {
      this.ownedTracks.delete(track);
      track.stop();
      throw err;
    }
  }

  /** Closes everything once; received tracks are unsubscribed before `disconnected`. */
  private teardown(code: number, reason: string): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.signal.handlers = undefined;
    this.signal.close(1000);
    this.qualitySampler.stop();
    this.publisher.close();
    this.subscriber.close();
    this.moderation.close();
    for (const track of this.ownedTracks) track.stop();
    this.ownedTracks.clear();
    this.publishedEntries.clear();
    this.roster.clear();
    this.videoObservers.stopAll();
    this.speakers.clear();
    this.emit('disconnected', { code, reason });
    this.resolveClosed();
  }

  private assertConnected(operation: string): void {
    if (this.state !== 'connected') throw new InvalidStateError(`${operation}() on a room that is ${this.state}`);
  }

  private reportError(code: string, message: string, requestType?: string): void {
    this.emit('error', { code, message, requestType });
  }
}

function pickSource(sources: PublishSources | undefined, track: MediaStreamTrack, index: number): TrackSourceName {
  const byKind: TrackSourceName = track.kind === 'video' ? 'camera' : 'microphone';
  if (sources === undefined) return byKind;
  if (Array.isArray(sources)) return sources[index] ?? byKind;
  return (track.kind === 'video' ? sources.video : sources.audio) ?? byKind;
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
