import type { ServerMessage } from '../../signaling/messages.js';
import { RemoteParticipant, type RemoteTrackInfo } from './participant.js';
import type { RoomEvents } from './room-types.js';

type Emit = <K extends keyof RoomEvents>(event: K, ...args: RoomEvents[K]) => void;
export type RosterMessage = Extract<ServerMessage, { type: 'participantJoined' | 'participantLeft' | 'trackPublished' | 'trackUnpublished' }>;

/**
 * Everyone else in the room and the tracks this client receives from them, kept from two sources that may come
 * in either order: the server's room events, and the subscriber connection's tracks (one can start before its
 * `trackPublished` is read). Emits the Room's participant and track events.
 */
export class RemoteRoster {
  /** Everyone else in the room, by identity. */
  readonly participants = new Map<string, RemoteParticipant>();
  /** Tracks received before their info (trackPublished not yet seen). */
  readonly #pending = new Map<string, { track: MediaStreamTrack; stream: MediaStream }>();

  constructor(private readonly emit: Emit) {}

  /** Whether `msg` is one of the room events this roster keeps. */
  static handles(msg: ServerMessage): msg is RosterMessage {
    return msg.type === 'participantJoined' || msg.type === 'participantLeft' || msg.type === 'trackPublished' || msg.type === 'trackUnpublished';
  }

  add(participant: RemoteParticipant): void {
    this.participants.set(participant.identity, participant);
  }

  handle(msg: RosterMessage): void {
    switch (msg.type) {
      case 'participantJoined': {
        const existing = this.participants.get(msg.participant.identity);
        if (existing !== undefined) this.#remove(existing, 'replaced');
        const participant = new RemoteParticipant(msg.participant);
        this.add(participant);
        this.emit('participantJoined', participant);
        for (const info of participant.tracks.values()) this.#resolvePending(info);
        return;
      }
      case 'participantLeft': {
        const participant = this.participants.get(msg.identity);
        if (participant !== undefined) this.#remove(participant, msg.reason);
        return;
      }
      case 'trackPublished': {
        const participant = this.participants.get(msg.track.participantIdentity);
        if (participant === undefined) return;
        const info: RemoteTrackInfo = { ...msg.track };
        participant.tracks.set(info.trackId, info);
        this.emit('trackPublished', info, participant);
        this.#resolvePending(info);
        return;
      }
      case 'trackUnpublished': {
        const participant = this.participants.get(msg.participantIdentity);
        const info = participant?.tracks.get(msg.trackId);
        this.#pending.delete(msg.trackId);
        if (participant === undefined || info === undefined) return;
        this.#endSubscription(info);
        participant.tracks.delete(msg.trackId);
        this.emit('trackUnpublished', info, participant);
        return;
      }
    }
  }

  trackStarted(trackId: string, track: MediaStreamTrack, stream: MediaStream): void {
    const info = this.#findTrack(trackId);
    if (info === undefined) {
      this.#pending.set(trackId, { track, stream });
      return;
    }
    this.#endSubscription(info);
    info.track = track;
    info.stream = stream;
    this.emit('trackSubscribed', info, track, stream);
  }

  trackEnded(trackId: string): void {
    this.#pending.delete(trackId);
    const info = this.#findTrack(trackId);
    if (info !== undefined) this.#endSubscription(info);
  }

  /**
   * The participant whose tracks arrive in `stream`: the SFU sends each publisher's tracks in one stream whose
   * id is the publisher's opaque `sid` (never its identity, which may hold any text).
   */
  forStream(stream: MediaStream): RemoteParticipant | undefined {
    for (const participant of this.participants.values()) if (participant.sid === stream.id) return participant;
    return undefined;
  }

  /**
   * After a rejoin: everyone known leaves (`participantLeft` with `reason`: their tracks end and are unpublished
   * first) and the room's participants now join again (`participantJoined`): their sessions, and so their sids and
   * track ids, are new.
   */
  reset(participants: readonly RemoteParticipant[], reason: string): void {
    this.#pending.clear();
    for (const participant of [...this.participants.values()]) this.#remove(participant, reason);
    for (const participant of participants) {
      this.add(participant);
      this.emit('participantJoined', participant);
    }
  }

  /** Received tracks end (`trackUnsubscribed`) and everyone is forgotten: the room closed. */
  clear(): void {
    this.#pending.clear();
    for (const participant of this.participants.values()) {
      for (const info of participant.tracks.values()) this.#endSubscription(info);
    }
    this.participants.clear();
  }

  #resolvePending(info: RemoteTrackInfo): void {
    const pending = this.#pending.get(info.trackId);
    if (pending === undefined) return;
    this.#pending.delete(info.trackId);
    this.trackStarted(info.trackId, pending.track, pending.stream);
  }

  #endSubscription(info: RemoteTrackInfo): void {
    const track = info.track;
    if (track === undefined) return;
    info.track = undefined;
    info.stream = undefined;
    this.emit('trackUnsubscribed', info, track);
  }

  /** A leaving participant's tracks are unsubscribed and unpublished before `participantLeft`. */
  #remove(participant: RemoteParticipant, reason: string): void {
    for (const info of [...participant.tracks.values()]) {
      this.#pending.delete(info.trackId);
      this.#endSubscription(info);
      participant.tracks.delete(info.trackId);
      this.emit('trackUnpublished', info, participant);
    }
    this.participants.delete(participant.identity);
    this.emit('participantLeft', participant, reason);
  }

  #findTrack(trackId: string): RemoteTrackInfo | undefined {
    for (const participant of this.participants.values()) {
      const info = participant.tracks.get(trackId);
      if (info !== undefined) return info;
    }
    return undefined;
  }
}
