import type { Logger } from 'pino';
import { routeDataMessage, routeServerData, type ServerDataMessage } from './data-router.js';
import { InvalidStateError } from '../errors.js';
import { Participant, type ParticipantInit, type TrackSource } from './participant.js';
import type { PublishedTrack } from '../media/published-track.js';
import type { SfuMetrics } from '../sfu-metrics.js';
import type { ActiveSpeaker, ParticipantSnapshot, PublishedTrackInfo, UnpublishReason } from '../sfu-types.js';
import { ActiveSpeakerObserver } from './active-speaker-observer.js';
import { SpeakerPriority } from './speaker-priority.js';
import { TypedEmitter } from '../typed-emitter.js';

export interface RoomEvents extends Record<string, unknown[]> {
  participantJoined: [ParticipantSnapshot];
  /** identity, reason, and whether the participant was hidden. */
  participantLeft: [string, string, boolean];
  trackPublished: [PublishedTrackInfo];
  trackUnpublished: [PublishedTrackInfo, UnpublishReason];
  /** A track was muted or unmuted on the server; `by`: the moderator, absent for its publisher's own. */
  trackMuted: [PublishedTrackInfo, string | undefined];
  /** A participant's name, metadata or permissions changed. */
  participantUpdated: [ParticipantSnapshot];
  /** Who speaks now, loudest first (empty: nobody); at most 4 times a second, only when it changes. */
  activeSpeakers: [ActiveSpeaker[]];
  '@close': [];
}

export type JoinOptions = Omit<ParticipantInit, 'options' | 'metrics' | 'logger' | 'negotiationQueue' | 'findTrack' | 'sharedPorts'>;

/**
 * A room (mediasoup's Router): its participants, and the wiring that subscribes participants who chose
 * auto-subscription to everyone else's tracks, finds tracks for explicit subscriptions, and routes data
 * messages. Closes itself when its last participant leaves.
 */
/** How long someone must be the loudest speaker before their camera gets the speaker's allocation priority. */
const SPEAKER_PRIORITY_HOLD_MS = 2000;

export class Room extends TypedEmitter<RoomEvents> {
  readonly id: string;
  readonly #participants = new Map<string, Participant>();
  readonly #makeInit: (join: JoinOptions) => ParticipantInit;
  readonly #logger: Logger;
  #closed = false;

  readonly #metrics: SfuMetrics;
  readonly #speakers: ActiveSpeakerObserver;
  readonly #speakerPriority = new SpeakerPriority(SPEAKER_PRIORITY_HOLD_MS, (identity) => this.#giveSpeakerPriority(identity));

  constructor(id: string, makeInit: (join: JoinOptions) => ParticipantInit, logger: Logger, metrics: SfuMetrics) {
    super();
    this.id = id;
    this.#makeInit = makeInit;
    this.#logger = logger;
    this.#metrics = metrics;
    this.#speakers = new ActiveSpeakerObserver((speakers) => this.#onActiveSpeakers(speakers));
  }

  get closed(): boolean {
    return this.#closed;
  }

  get participants(): ReadonlyMap<string, Participant> {
    return this.#participants;
  }

  /** Who speaks now, loudest first (empty: nobody). */
  get activeSpeakers(): readonly ActiveSpeaker[] {
    return this.#speakers.speakers;
  }

  /** Whether the room's active-speaker timer runs (it stops once no audio is published and nobody speaks). */
  get activeSpeakerTimerRunning(): boolean {
    return this.#speakers.running;
  }

  participant(identity: string): Participant | undefined {
    return this.#participants.get(identity);
  }

  /** Everyone in the room but `except` (and hidden participants unless `includeHidden`), with their published tracks. */
  snapshot(except?: string, includeHidden = false): ParticipantSnapshot[] {
    return [...this.#participants.values()].filter((p) => p.identity !== except && (includeHidden || !p.hidden)).map((p) => p.snapshot());
  }

  join(options: JoinOptions): Participant {
    if (this.#closed) throw new InvalidStateError(`room ${this.id} is closed`);
    if (this.#participants.has(options.identity)) {
      throw new InvalidStateError(`${options.identity} is already in room ${this.id}`);
    }
    let participant: Participant;
    try {
      participant = new Participant({ ...this.#makeInit(options), findTrack: (trackId) => this.#findTrack(trackId) });
    } catch (error) {
      // e.g. no free media port: a room opened for this join must not stay behind empty.
      if (this.#participants.size === 0) this.close();
      throw error;
    }
    this.#participants.set(participant.identity, participant);
    participant.on('@trackPublished', (track) => this.#onTrackPublished(participant, track));
    participant.on('@trackUnpublished', (track, reason) => this.#onTrackUnpublished(track, reason));
    participant.on('@trackMuted', (track, by) => this.emit('trackMuted', track.info, by));
    participant.on('@updated', () => this.emit('participantUpdated', participant.snapshot()));
    participant.on('@subscribeGranted', () => this.#subscribeToEveryone(participant));
    participant.on('@data', (data, reliable) => {
      const delivered = routeDataMessage(this.#participants, participant, data, reliable);
      this.#metrics.dataMessages.inc({ channel: reliable ? 'reliable' : 'lossy', result: delivered < 0 ? 'rejected' : 'delivered' });
    });
    participant.once('@close', (reason) => this.#onParticipantClosed(participant, reason));
    // A late joiner receives everything already published, unless it subscribes itself.
    if (participant.autoSubscribe) this.#subscribeToEveryone(participant);
    this.#logger.info({ roomId: this.id, participantId: participant.identity }, 'participant joined');
    this.emit('participantJoined', participant.snapshot());
    return participant;
  }

  /** A data message from the server (not a participant) to everyone or to `to`; returns how many channels took it. */
  sendServerData(message: ServerDataMessage): number {
    if (this.#closed) throw new InvalidStateError(`room ${this.id} is closed`);
    const delivered = routeServerData(this.#participants, message);
    this.#metrics.dataMessages.inc({ channel: message.reliable ? 'reliable' : 'lossy', result: 'delivered' });
    return delivered;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const participant of [...this.#participants.values()]) participant.close('room-closed');
    this.#participants.clear();
    this.#speakers.close();
    this.#speakerPriority.close();
    this.emit('@close');
    this.removeAllListeners();
  }

  #onTrackPublished(publisher: Participant, track: PublishedTrack): void {
    this.#speakers.add(track);
    track.activeSpeaker = this.#speakerPriority.holder === publisher.identity;
    for (const other of this.#participants.values()) {
      if (other !== publisher && other.autoSubscribe) other.subscribe({ track, streamId: publisher.sid });
    }
    this.emit('trackPublished', track.info);
  }

  #onTrackUnpublished(track: PublishedTrack, reason: UnpublishReason): void {
    this.#speakers.remove(track);
    for (const other of this.#participants.values()) other.unsubscribe(track.id);
    this.emit('trackUnpublished', track.info, reason);
  }

  #subscribeToEveryone(participant: Participant): void {
    for (const other of this.#participants.values()) {
      if (other === participant) continue;
      for (const track of other.publishedTracks.values()) participant.subscribe({ track, streamId: other.sid });
    }
  }

  #onActiveSpeakers(speakers: ActiveSpeaker[]): void {
    this.#speakerPriority.dominantChanged(speakers[0]?.identity);
    this.#metrics.activeSpeakerUpdates.inc();
    this.emit('activeSpeakers', speakers);
  }

  /** The speaker's video goes first in subscribers' allocation after screen shares and the teacher (docs/BANDWIDTH.md). */
  #giveSpeakerPriority(identity: string | undefined): void {
    for (const participant of this.#participants.values()) {
      for (const track of participant.publishedTracks.values()) track.activeSpeaker = participant.identity === identity;
    }
  }

  #findTrack(trackId: string): TrackSource | undefined {
    for (const participant of this.#participants.values()) {
      const track = participant.publishedTracks.get(trackId);
      if (track) return { track, streamId: participant.sid };
    }
    return undefined;
  }

  #onParticipantClosed(participant: Participant, reason: string): void {
    if (this.#participants.get(participant.identity) !== participant) return;
    this.#participants.delete(participant.identity);
    this.#speakerPriority.left(participant.identity);
    this.#logger.info({ roomId: this.id, participantId: participant.identity, reason, sessionMs: Date.now() - participant.joinedAt }, 'participant left');
    this.emit('participantLeft', participant.identity, reason, participant.hidden);
    if (this.#participants.size === 0) this.close();
  }
}
