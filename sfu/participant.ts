import type { Logger } from 'pino';
import { InvalidStateError, NotFoundError, PermissionError } from './errors.js';
import type { PeerContext } from './peer-base.js';
import { createPeerConnection } from './peer-factory.js';
import type { PublishedTrack } from './published-track.js';
import { PublisherPeer } from './publisher-peer.js';
import type { SfuMetrics } from './sfu-metrics.js';
import type { SfuOptions } from './sfu-options.js';
import { SubscriberPeer, type SubscriberOffer } from './subscriber-peer.js';
import type {
  DataRejection,
  Grants,
  IceCandidateJson,
  ParticipantSnapshot,
  PeerRole,
  PublishedTrackInfo,
  TrackDescription,
} from './sfu-types.js';
import { TypedEmitter } from './typed-emitter.js';

export interface ParticipantEvents extends Record<string, unknown[]> {
  subscriberOffer: [SubscriberOffer];
  iceCandidate: [PeerRole, IceCandidateJson];
  dataRejected: [DataRejection];
  '@trackPublished': [PublishedTrack];
  '@trackUnpublished': [PublishedTrack];
  '@data': [Buffer, boolean];
  '@close': [string];
}

export interface ParticipantInit {
  identity: string;
  name?: string;
  grants: Grants;
  options: SfuOptions;
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
  readonly name?: string;
  readonly grants: Grants;
  readonly joinedAt = Date.now();
  readonly subscriber: SubscriberPeer;
  readonly #init: ParticipantInit;
  readonly #context: PeerContext;
  readonly #tracks = new Map<string, PublishedTrack>();
  #publisher?: PublisherPeer;
  #closed = false;

  constructor(init: ParticipantInit) {
    super();
    this.identity = init.identity;
    this.name = init.name;
    this.grants = init.grants;
    this.#init = init;
    this.#context = {
      options: init.options,
      metrics: init.metrics,
      logger: init.logger,
      onIceCandidate: (role, candidate) => this.emit('iceCandidate', role, candidate),
      onConnectionState: (role, state) => init.logger.info({ peer: role, state }, 'peer connection state'),
    };
    this.subscriber = new SubscriberPeer(createPeerConnection(init.options), this.#context, {
      onOffer: (offer) => this.emit('subscriberOffer', offer),
      onData: (data, reliable) => this.emit('@data', data, reliable),
    });
    this.subscriber.negotiate();
  }

  get closed(): boolean {
    return this.#closed;
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
      ...(this.name ? { name: this.name } : {}),
      joinedAt: this.joinedAt,
      tracks: [...this.#tracks.values()].map((t) => t.info),
    };
  }

  async publish(sdp: string, descriptions: readonly TrackDescription[]): Promise<PublishAnswer> {
    this.#assertOpen();
    if (!this.grants.canPublish) throw new PermissionError('this token does not grant canPublish');
    this.#publisher ??= new PublisherPeer(createPeerConnection(this.#init.options), this.#context, this.identity);
    const result = await this.#publisher.handleOffer(sdp, descriptions);
    this.#assertOpen();
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

  async answerSubscriber(sdp: string): Promise<void> {
    this.#assertOpen();
    await this.subscriber.handleAnswer(sdp);
  }

  async addIceCandidate(role: PeerRole, candidate: IceCandidateJson): Promise<void> {
    this.#assertOpen();
    const peer = role === 'publisher' ? this.#publisher : this.subscriber;
    if (!peer) throw new InvalidStateError('no publisher connection yet: send publishOffer first');
    await peer.addIceCandidate(candidate);
  }

  /** Starts receiving another participant's track (called by the room). */
  subscribe(track: PublishedTrack): void {
    if (this.#closed || !this.grants.canSubscribe) return;
    this.subscriber.addTrack(track);
  }

  unsubscribe(trackId: string): void {
    if (this.#closed) return;
    this.subscriber.removeTrack(trackId);
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
    for (const track of [...this.#tracks.values()]) this.#unpublish(track);
    this.#publisher?.close();
    this.subscriber.close();
    this.emit('@close', reason);
    this.removeAllListeners();
  }

  #unpublish(track: PublishedTrack): void {
    if (!this.#tracks.delete(track.id)) return;
    this.emit('@trackUnpublished', track);
    track.close();
  }

  #assertOpen(): void {
    if (this.#closed) throw new InvalidStateError(`participant ${this.identity} has left`);
  }
}
