/**
 * The part of the SFU that signaling drives. Declared here so signaling depends on an interface, not on
 * the SFU's classes; the server passes the real SFU, which satisfies it structurally.
 */
export type PeerRole = 'publisher' | 'subscriber';
export type TrackSource = 'camera' | 'microphone' | 'screen' | 'screen_audio' | 'unknown';

export interface TrackInfoPort {
  trackId: string;
  participantIdentity: string;
  kind: 'audio' | 'video';
  source: TrackSource;
  name?: string;
  mimeType?: string;
  muted: boolean;
}

export interface PermissionsPort {
  canPublish: boolean;
  canSubscribe: boolean;
  canPublishData: boolean;
  canPublishSources?: TrackSource[];
  canUpdateOwnMetadata: boolean;
  roomAdmin: boolean;
}

export type PermissionsUpdatePort = Partial<Omit<PermissionsPort, 'roomAdmin'>>;

export type UnpublishReasonPort = 'unpublished' | 'permission' | 'removed';

export interface ParticipantSnapshotPort {
  identity: string;
  sid: string;
  name?: string;
  metadata?: string;
  joinedAt: number;
  tracks: TrackInfoPort[];
  permissions: PermissionsPort;
  hidden?: true;
}

/** A participant speaking now, with its loudness (amplitude, 0..1). */
export interface ActiveSpeakerPort {
  identity: string;
  level: number;
}

export interface IceCandidatePort {
  candidate: string;
  sdpMid?: string | null;
  sdpMLineIndex?: number | null;
  usernameFragment?: string | null;
}

interface Emitter<Events extends Record<string, unknown[]>> {
  on<K extends keyof Events & string>(event: K, listener: (...args: Events[K]) => void): unknown;
  off<K extends keyof Events & string>(event: K, listener: (...args: Events[K]) => void): unknown;
}

export type ParticipantPortEvents = {
  subscriberOffer: [{ sdp: string; tracks: Record<string, string> }];
  trackState: [{ trackId: string; paused: boolean; layer: number; maxTemporalLayer?: number }];
  /** Dynacast: which layers of one of this participant's simulcast tracks some subscriber receives. */
  publishLayers: [{ trackId: string; layers: { rid: string; active: boolean }[] }];
  iceCandidate: [PeerRole, IceCandidatePort];
  dataRejected: [{ code: string; message: string }];
  /** The participant stopped reading reliable data; the SFU closes it right after. */
  dataStalled: [{ code: string; message: string }];
  /** The participant's media connection failed or it never answered an offer; the SFU closes it right after. */
  failed: [{ code: 'CONNECTION_FAILED' | 'NEGOTIATION_FAILED'; message: string }];
};

export interface ParticipantPort extends Emitter<ParticipantPortEvents> {
  readonly identity: string;
  readonly hidden: boolean;
  /** What it may do now (the token's grants as moderators changed them). */
  readonly grants: Readonly<PermissionsPort>;
  snapshot(): ParticipantSnapshotPort;
  /**
   * Name, metadata and/or permissions (undefined: unchanged), applied at once (revoked sources unpublished, canSubscribe
   * revoked: everything unsubscribed); the room tells everyone (participantUpdated). False when nothing changed.
   */
  update(changes: { name?: string; metadata?: string; permissions?: PermissionsUpdatePort }): boolean;
  /** Server-side mute of its own track; throws NotFoundError for a track it does not publish. False when unchanged. */
  setTrackMuted(trackId: string, muted: boolean, by?: string): boolean;
  readonly publishedTracks: ReadonlyMap<string, { readonly info: TrackInfoPort }>;
  publish(sdp: string, tracks: readonly { mid: string; source: TrackSource; name?: string; layers?: readonly { rid: string; width?: number; height?: number }[] }[]): Promise<{ sdp: string; tracks: (TrackInfoPort & { mid: string })[] }>;
  unpublish(trackId: string): void;
  answerSubscriber(sdp: string): Promise<void>;
  /** The client's `iceRestart`: the next subscriber offer restarts ICE. */
  restartIce(target: 'subscriber'): void;
  /** Starts receiving these tracks (all or none). */
  requestSubscribe(trackIds: readonly string[]): void;
  /** Stops receiving these tracks. */
  requestUnsubscribe(trackIds: readonly string[]): void;
  /** How the client shows these received video tracks (adaptive stream). */
  requestTrackSettings(trackIds: readonly string[], settings: { enabled?: boolean; width?: number; height?: number; quality?: 'low' | 'medium' | 'high' }): void;
  addIceCandidate(role: PeerRole, candidate: IceCandidatePort): Promise<void>;
  close(reason?: string): void;
}

export type RoomPortEvents = {
  participantJoined: [ParticipantSnapshotPort];
  /** identity, reason, whether it was hidden. */
  participantLeft: [string, string, boolean];
  trackPublished: [TrackInfoPort];
  trackUnpublished: [TrackInfoPort, UnpublishReasonPort];
  trackMuted: [TrackInfoPort, string | undefined];
  participantUpdated: [ParticipantSnapshotPort];
  /** Who speaks now, loudest first (empty: nobody); only when it changes, at most 4 times a second. */
  activeSpeakers: [readonly ActiveSpeakerPort[]];
};

export interface RoomPort extends Emitter<RoomPortEvents> {
  readonly participants: ReadonlyMap<string, unknown>;
  /** Who speaks now, loudest first. */
  readonly activeSpeakers: readonly ActiveSpeakerPort[];
  participant(identity: string): ParticipantPort | undefined;
  snapshot(except?: string, includeHidden?: boolean): ParticipantSnapshotPort[];
  join(options: {
    identity: string;
    name?: string;
    metadata?: string;
    grants: {
      canPublish: boolean;
      canSubscribe: boolean;
      canPublishData: boolean;
      roomAdmin?: boolean;
      canPublishSources?: readonly TrackSource[];
      canUpdateOwnMetadata?: boolean;
      hidden?: boolean;
    };
    autoSubscribe?: boolean;
  }): ParticipantPort;
}

export interface SfuPort {
  /** The room if it exists; never creates one. */
  findRoom(roomId: string): RoomPort | undefined;
  /** The room, created if it does not exist (the caller joins it at once). */
  openRoom(roomId: string): RoomPort;
}
