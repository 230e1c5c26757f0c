import type { Logger } from 'pino';
import { InvalidStateError, LimitExceededError, NotFoundError, PermissionError } from '../errors.js';
import { DataRateLimit } from './data-rate-limit.js';
import { randomId } from '../ids.js';
import type { NegotiationQueue } from '../peer/negotiation-queue.js';
import type { PeerContext } from '../peer/peer-base.js';
import { createPeerConnection } from '../peer/peer-factory.js';
import type { SharedMediaPorts } from '../peer/shared-media-ports.js';
import type { PublishedTrack } from '../media/published-track.js';
import { PublisherPeer, type PublishResult } from '../peer/publisher-peer.js';
import type { SfuMetrics } from '../sfu-metrics.js';
import type { SfuOptions } from '../sfu-options.js';
import { SubscriberPeer, type SubscriberOffer } from '../peer/subscriber-peer.js';
import { Permissions } from './participant-permissions.js';
import type {
  DataRejection,
  Grants,
  ParticipantPermissions,
  PermissionsUpdate,
  IceCandidateJson,
  ParticipantSnapshot,
  PeerRole,
  PublishedTrackInfo,
  PublishLayers,
  TrackDescription,
  UnpublishReason,
  VideoTrackSettings,
} from '../sfu-types.js';
import { TypedEmitter } from '../typed-emitter.js';

export interface ParticipantEvents extends Record<string, unknown[]> {
  subscriberOffer: [SubscriberOffer];
  /** A received video track's layer or paused state changed (bandwidth, or this participant's settings). */
  trackState: [{ trackId: string; paused: boolean; layer: number; maxTemporalLayer?: number }];
  /** Dynacast: which layers of one of this participant's simulcast tracks some subscriber receives. */
  publishLayers: [PublishLayers];
  iceCandidate: [PeerRole, IceCandidateJson];
  dataRejected: [DataRejection];
  /** The participant stopped reading reliable data; it is closed right after this event (reason `data-stalled`). */
  dataStalled: [{ code: 'DATA_STALLED'; message: string }];
  /** The participant cannot go on (its media connection failed, or it never answered an offer); it closes next. */
  failed: [ParticipantFailure];
  '@trackPublished': [PublishedTrack];
  '@trackUnpublished': [PublishedTrack, UnpublishReason];
  /** One of its tracks was muted or unmuted on the server; `by`: the moderator, absent for its own. */
  '@trackMuted': [PublishedTrack, string | undefined];
  /** Its name, metadata or permissions changed. */
  '@updated': [];
  /** A moderator granted canSubscribe: the room subscribes it to what is published (auto-subscription). */
  '@subscribeGranted': [];
  '@data': [Buffer, boolean];
  '@close': [string];
}

export interface ParticipantFailure {
  code: 'CONNECTION_FAILED' | 'NEGOTIATION_FAILED';
  message: string;
}

/** A track another participant publishes, and the opaque stream id its publisher's tracks are sent in. */
export interface TrackSource {
  track: PublishedTrack;
  streamId: string;
}

/** Candidates for the publisher connection kept until the first publishOffer creates it. */
const MAX_EARLY_PUBLISHER_CANDIDATES = 32;

export interface ParticipantInit {
  identity: string;
  name?: string;
  /** Initial metadata (the token's `metadata` claim). */
  metadata?: string;
  grants: Grants;
  /** Receive every track published in the room without asking (default); else only those `subscribe`d. */
  autoSubscribe?: boolean;
  options: SfuOptions;
  negotiationQueue: NegotiationQueue;
  /** The node's shared media ports (rtc.udpPort); without them each peer connection binds a port of the range. */
  sharedPorts?: SharedMediaPorts;
  /** Finds a track published in the room by id (set by the room). */
  findTrack?: (trackId: string) => TrackSource | undefined;
  metrics: SfuMetrics;
  logger: Logger;
}

export interface PublishAnswer {
  sdp: string;
  /** The tracks this offer started publishing, with the mid each arrives on. */
  tracks: (PublishedTrackInfo & { mid: string })[];
}

/**
 * One participant in a room: its subscriber connection (created at once, for media down and data both
 * ways) and its publisher connection (created on first publish). Closing it closes both and every track.
 */
export class Participant extends TypedEmitter<ParticipantEvents> {
  readonly identity: string;
  /** Opaque, SDP-safe id: the msid stream id of this participant's tracks at every subscriber. */
  readonly sid = randomId('PA_');
  /** What this participant may still send as data (data-router.ts). */
  readonly dataAllowance: DataRateLimit;
  readonly autoSubscribe: boolean;
  /** Its token's grants as moderators changed them since. */
  readonly permissions: Permissions;
  #name?: string;
  #metadata?: string;
  readonly joinedAt = Date.now();
  readonly subscriber: SubscriberPeer;
  readonly #init: ParticipantInit;
  readonly #context: PeerContext;
  readonly #tracks = new Map<string, PublishedTrack>();
  #publisher?: PublisherPeer;
  /** The auto-subscription limit is logged once per participant, not once per track. */
  #subscriptionLimitLogged = false;
  #earlyPublisherCandidates: IceCandidateJson[] = [];
  readonly #connectTimers = new Map<PeerRole, NodeJS.Timeout>();
  #closed = false;

  constructor(init: ParticipantInit) {
    super();
    this.identity = init.identity;
    this.#name = init.name;
    this.#metadata = init.metadata;
    this.permissions = new Permissions(init.grants);
    this.autoSubscribe = init.autoSubscribe ?? true;
    this.dataAllowance = new DataRateLimit(init.options, performance.now());
    this.#init = init;
    this.#context = {
      options: init.options,
      metrics: init.metrics,
      logger: init.logger,
      onIceCandidate: (role, candidate) => this.emit('iceCandidate', role, candidate),
      onConnectionState: (role, state) => {
        init.logger.info({ peer: role, state }, 'peer connection state');
        if (state === 'connected') this.#clearConnectTimer(role);
        if (state === 'failed') this.#fail({ code: 'CONNECTION_FAILED', message: `the ${role} media connection failed (ICE or DTLS)` });
      },
      // A restarted connection must connect again within connectTimeoutMs, as a new one must.
      onIceRestart: (role, phase) => (phase === 'started' ? this.#startConnectTimer(role) : this.#clearConnectTimer(role)),
    };
    // werift negotiates only its data channels; the SFU writes its audio and video m-lines (subscriber-sdp.ts).
    const pc = createPeerConnection(init.options, {}, init.sharedPorts);
    this.subscriber = new SubscriberPeer(pc, this.#context, init.negotiationQueue, {
      onOffer: (offer) => this.emit('subscriberOffer', offer),
      onData: (data, reliable) => this.emit('@data', data, reliable),
      onDataStalled: (message) => {
        this.emit('dataStalled', { code: 'DATA_STALLED', message });
        this.close('data-stalled');
      },
      onNegotiationFailed: (message) => this.#fail({ code: 'NEGOTIATION_FAILED', message }),
      onTrackState: (trackId, state) => this.emit('trackState', { trackId, ...state }),
    });
    this.subscriber.negotiate(true);
    this.#startConnectTimer('subscriber');
  }

  get closed(): boolean {
    return this.#closed;
  }

  get name(): string | undefined {
    return this.#name;
  }

  get metadata(): string | undefined {
    return this.#metadata;
  }

  /** An observer: never publishes, and its driver keeps it out of what others see. */
  get hidden(): boolean {
    return this.permissions.hidden;
  }

  /** What it may do now. */
  get grants(): Readonly<ParticipantPermissions> {
    return this.permissions.value;
  }

  get publishedTracks(): ReadonlyMap<string, PublishedTrack> {
    return this.#tracks;
  }

  get maxDataMessageBytes(): number {
    return this.#init.options.maxDataMessageBytes;
  }

  get peerConnectionCount(): number {
    return this.#closed ? 0 : 1 + (this.#publisher ? 1 : 0);
  }

  snapshot(): ParticipantSnapshot {
    return {
      identity: this.identity,
      sid: this.sid,
      ...(this.#name ? { name: this.#name } : {}),
      ...(this.#metadata !== undefined ? { metadata: this.#metadata } : {}),
      joinedAt: this.joinedAt,
      tracks: [...this.#tracks.values()].map((t) => t.info),
      permissions: this.permissions.snapshot(),
      ...(this.hidden ? { hidden: true as const } : {}),
    };
  }

  /**
   * Changes its name, metadata and/or permissions (undefined: unchanged), applied at once: tracks of a source it may
   * no longer publish are unpublished (reason `permission`), everything it receives is dropped when canSubscribe
   * goes. Tells the room once when something changed; returns whether it did.
   */
  update(changes: { name?: string; metadata?: string; permissions?: PermissionsUpdate }): boolean {
    this.#assertOpen();
    let changed = false;
    if (changes.name !== undefined && changes.name !== this.#name) [this.#name, changed] = [changes.name, true];
    if (changes.metadata !== undefined && changes.metadata !== this.#metadata) [this.#metadata, changed] = [changes.metadata, true];
    const change = changes.permissions && this.permissions.update(changes.permissions);
    if (change) {
      changed = true;
      for (const track of [...this.#tracks.values()]) {
        if (!change.revokedSource(track.source)) continue;
        this.#publisher?.removeTrack(track.id);
        this.#unpublish(track, 'permission');
      }
      if (change.subscribeRevoked) this.subscriber.removeAllTracks();
    }
    if (changed) this.emit('@updated');
    if (change?.subscribeGranted && this.autoSubscribe) this.emit('@subscribeGranted');
    return changed;
  }

  /** Server-side mute of one of its tracks (`by`: the moderator, absent for its own request); false when unchanged. */
  setTrackMuted(trackId: string, muted: boolean, by?: string): boolean {
    this.#assertOpen();
    const track = this.#tracks.get(trackId);
    if (!track) throw new NotFoundError(`track ${trackId} is not published by ${this.identity}`);
    if (!track.setMuted(muted)) return false;
    this.emit('@trackMuted', track, by);
    return true;
  }

  async publish(sdp: string, descriptions: readonly TrackDescription[]): Promise<PublishAnswer> {
    this.#assertOpen();
    this.permissions.checkOffer(sdp, descriptions, new Set([...this.#tracks.values()].map((t) => t.mid)));
    const first = !this.#publisher;
    const publisher = (this.#publisher ??= new PublisherPeer(createPeerConnection(this.#init.options, {}, this.#init.sharedPorts), this.#context, this.identity, {
      onPublishLayers: (update) => this.emit('publishLayers', update),
      trackPriority: this.grants.roomAdmin ? 1 : 0,
    }));
    let result: PublishResult;
    try {
      result = await publisher.handleOffer(sdp, descriptions);
    } catch (error) {
      // A first offer that failed leaves no connection behind: it could never connect, and its connect timer would
      // close a participant who may go on as a viewer.
      if (first && this.#publisher === publisher) {
        this.#publisher = undefined;
        publisher.close();
      }
      throw error;
    }
    const early = this.#earlyPublisherCandidates;
    this.#earlyPublisherCandidates = [];
    for (const candidate of early) {
      if (this.#closed) break;
      await publisher.addIceCandidate(candidate).catch(() => undefined);
    }
    if (this.#closed) {
      // Closed while the offer was applied: the tracks it created were never announced; nothing else will close them.
      for (const track of result.added) track.close();
      this.#assertOpen();
    }
    if (first) this.#startConnectTimer('publisher');
    for (const track of result.removed) this.#unpublish(track);
    for (const track of result.added) {
      this.#tracks.set(track.id, track);
      this.emit('@trackPublished', track);
    }
    return { sdp: result.sdp, tracks: result.added.map((t) => ({ ...t.info, mid: t.mid })) };
  }

  unpublish(trackId: string): void {
    this.#assertOpen();
    const track = this.#publisher?.removeTrack(trackId);
    if (!track) throw new NotFoundError(`track ${trackId} is not published by ${this.identity}`);
    this.#unpublish(track);
  }

  /**
   * The client's `iceRestart` of its subscriber connection: the next subscriber offer restarts ICE (docs/PROTOCOL.md,
   * "ICE restart"). The publisher connection is restarted by the client's own offer (`publish`).
   */
  restartIce(target: 'subscriber'): void {
    this.#assertOpen();
    if (target === 'subscriber') this.subscriber.restartIce();
  }

  async answerSubscriber(sdp: string): Promise<void> {
    this.#assertOpen();
    await this.subscriber.handleAnswer(sdp);
  }

  async addIceCandidate(role: PeerRole, candidate: IceCandidateJson): Promise<void> {
    this.#assertOpen();
    const peer = role === 'publisher' ? this.#publisher : this.subscriber;
    if (!peer) {
      // Clients gather while setting their local offer, before publishOffer is sent (docs/PROTOCOL.md, "ICE").
      if (this.#earlyPublisherCandidates.length >= MAX_EARLY_PUBLISHER_CANDIDATES) {
        throw new LimitExceededError(`more than ${MAX_EARLY_PUBLISHER_CANDIDATES} publisher candidates before the first publishOffer`);
      }
      this.#earlyPublisherCandidates.push(candidate);
      return;
    }
    await peer.addIceCandidate(candidate);
  }

  /**
   * Starts receiving another participant's track (the room calls it for auto-subscription). False, and
   * nothing done, when this participant cannot subscribe or already receives its maximum number of tracks.
   */
  subscribe(source: TrackSource): boolean {
    if (this.#closed || !this.grants.canSubscribe) return false;
    if (this.subscriber.subscribes(source.track.id)) return true;
    if (this.subscriber.subscriptionCount >= this.#init.options.maxSubscriptionsPerParticipant) {
      if (!this.#subscriptionLimitLogged) {
        this.#subscriptionLimitLogged = true;
        this.#init.logger.warn({ trackId: source.track.id, limit: this.#init.options.maxSubscriptionsPerParticipant }, 'subscription limit reached; later tracks are not subscribed automatically');
      }
      return false;
    }
    this.subscriber.addTrack(source.track, source.streamId);
    return true;
  }

  unsubscribe(trackId: string): void {
    if (this.#closed) return;
    this.subscriber.removeTrack(trackId);
  }

  /** The client's `subscribe`: all of `trackIds` or none (unknown track, own track, or over the limit). */
  requestSubscribe(trackIds: readonly string[]): void {
    this.#assertOpen();
    if (!this.grants.canSubscribe) throw new PermissionError('this token does not grant canSubscribe');
    const sources = this.#resolveTracks(trackIds);
    const added = sources.filter((s) => !this.subscriber.subscribes(s.track.id)).length;
    const limit = this.#init.options.maxSubscriptionsPerParticipant;
    if (this.subscriber.subscriptionCount + added > limit) {
      throw new LimitExceededError(`subscribing to ${added} more tracks would pass the limit of ${limit} received tracks; unsubscribe some first`);
    }
    for (const source of sources) this.subscribe(source);
  }

  /** The client's `unsubscribe`: stops receiving each of `trackIds` (tracks not received, or gone, are ignored). */
  requestUnsubscribe(trackIds: readonly string[]): void {
    this.#assertOpen();
    for (const trackId of trackIds) this.unsubscribe(trackId);
  }

  /**
   * The client's `trackSettings` (adaptive stream): how it shows video tracks it receives. Ids it does not receive
   * are reported (NotFoundError) after the settings apply to the others: a client's batch may name a track removed
   * a moment ago, and that must not cost the rest of the batch.
   */
  requestTrackSettings(trackIds: readonly string[], settings: VideoTrackSettings): void {
    this.#assertOpen();
    const unknown = trackIds.filter((trackId) => !this.subscriber.downTracks.has(trackId));
    for (const trackId of trackIds) this.subscriber.configureVideo(trackId, settings);
    if (unknown.length > 0) throw new NotFoundError(`not receiving ${unknown.join(', ')}; the settings apply to the others`);
  }

  sendData(frame: Uint8Array, reliable: boolean): boolean {
    return !this.#closed && this.subscriber.sendData(frame, reliable);
  }

  rejectData(rejection: DataRejection): void {
    if (!this.#closed) this.emit('dataRejected', rejection);
  }

  close(reason = 'left'): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const track of [...this.#tracks.values()]) this.#unpublish(track, reason === 'removed' ? 'removed' : 'unpublished');
    this.#earlyPublisherCandidates = [];
    for (const timer of this.#connectTimers.values()) clearTimeout(timer);
    this.#connectTimers.clear();
    this.#publisher?.close();
    this.subscriber.close();
    this.emit('@close', reason);
    this.removeAllListeners();
  }

  #resolveTracks(trackIds: readonly string[]): TrackSource[] {
    return [...new Set(trackIds)].map((trackId) => {
      const source = this.#init.findTrack?.(trackId);
      if (!source || source.track.publisherIdentity === this.identity) throw new NotFoundError(`track ${trackId} is not published by another participant`);
      return source;
    });
  }

  /**
   * A media connection not connected `connectTimeoutMs` after it was created (or restarted ICE) is given up as failed: werift never
   * reports `failed` for a peer that vanished before ICE completed (its checks stay pending), which would leave
   * the participant half-present for ever.
   */
  #startConnectTimer(role: PeerRole): void {
    this.#clearConnectTimer(role);
    const timeoutMs = this.#init.options.connectTimeoutMs;
    this.#connectTimers.set(
      role,
      setTimeout(() => {
        this.#connectTimers.delete(role);
        this.#fail({ code: 'CONNECTION_FAILED', message: `the ${role} media connection did not connect within ${timeoutMs} ms` });
      }, timeoutMs),
    );
  }

  #clearConnectTimer(role: PeerRole): void {
    clearTimeout(this.#connectTimers.get(role));
    this.#connectTimers.delete(role);
  }

  /** Tells the driver (which reports it to the client), then closes. */
  #fail(failure: ParticipantFailure): void {
    if (this.#closed) return;
    this.#init.logger.warn({ code: failure.code }, failure.message);
    this.emit('failed', failure);
    this.close(failure.code === 'CONNECTION_FAILED' ? 'connection-failed' : 'negotiation-failed');
  }

  #unpublish(track: PublishedTrack, reason: UnpublishReason = 'unpublished'): void {
    if (!this.#tracks.delete(track.id)) return;
    this.emit('@trackUnpublished', track, reason);
    track.close();
  }

  #assertOpen(): void {
    if (this.#closed) throw new InvalidStateError(`participant ${this.identity} has left`);
  }
}
