/** Types the SFU shares with whoever drives it (the signaling layer maps them onto its messages). */
export type TrackKind = 'audio' | 'video';
export type TrackSource = 'camera' | 'microphone' | 'screen' | 'screen_audio' | 'unknown';
export type PeerRole = 'publisher' | 'subscriber';

export interface Grants {
  canPublish: boolean;
  canSubscribe: boolean;
  canPublishData: boolean;
  /** The room's teacher (moderator): its camera and microphone go before others' when a subscriber's link is short. */
  roomAdmin?: boolean;
  /** The sources it may publish; absent: all. */
  canPublishSources?: readonly TrackSource[];
  /** May change its own metadata and name. */
  canUpdateOwnMetadata?: boolean;
  /** An observer (recorder): publishes nothing, and its driver keeps it out of what others see. */
  hidden?: boolean;
}

/** What a participant may do now: its token's grants, as changed since by moderators (the room admin and hidden are fixed). */
export interface ParticipantPermissions {
  canPublish: boolean;
  canSubscribe: boolean;
  canPublishData: boolean;
  /** Absent: every source. */
  canPublishSources?: TrackSource[];
  canUpdateOwnMetadata: boolean;
  roomAdmin: boolean;
}

/** A moderator's change of a participant's permissions: the fields given replace the current ones. */
export type PermissionsUpdate = Partial<Omit<ParticipantPermissions, 'roomAdmin'>>;

/** Why a track stopped being published: its publisher's request, a permission taken away, or the publisher removed. */
export type UnpublishReason = 'unpublished' | 'permission' | 'removed';

export interface PublishedTrackInfo {
  trackId: string;
  participantIdentity: string;
  kind: TrackKind;
  source: TrackSource;
  name?: string;
  mimeType?: string;
  /** Muted on the server: forwarded to nobody. */
  muted: boolean;
}

export interface ParticipantSnapshot {
  identity: string;
  /** Opaque id, safe in SDP: the msid stream id of this participant's tracks. */
  sid: string;
  name?: string;
  metadata?: string;
  joinedAt: number;
  tracks: PublishedTrackInfo[];
  permissions: ParticipantPermissions;
  /** Present (true) for a hidden participant only. */
  hidden?: true;
}

export interface TrackDescription {
  mid: string;
  source: TrackSource;
  name?: string;
  /** Simulcast layers by RTP stream id, lowest quality first. */
  layers?: readonly SimulcastLayerDescription[];
}

/** One simulcast layer as the publisher describes it: its RTP stream id and, when known, its resolution. */
export interface SimulcastLayerDescription {
  rid: string;
  width?: number;
  height?: number;
}

/** Dynacast: which of a simulcast track's layers the publisher should send (those some subscriber receives). */
export interface PublishLayers {
  trackId: string;
  /** Every layer, lowest first. */
  layers: { rid: string; active: boolean }[];
}

/** A subscriber's settings for one video track it receives (adaptive stream). */
export interface VideoTrackSettings {
  /** False: not shown (hidden, off screen): nothing is sent. Default true. */
  enabled?: boolean;
  /** The size it is shown at, in device pixels: no layer larger than needed is sent. */
  width?: number;
  height?: number;
  /** An upper bound the application chose. */
  quality?: 'low' | 'medium' | 'high';
}

export interface IceCandidateJson {
  candidate: string;
  sdpMid?: string | null;
  sdpMLineIndex?: number | null;
  usernameFragment?: string | null;
}

/** A data message as it left its sender, ready to be delivered. */
export interface DataDelivery {
  from: string;
  /** Wire bytes of the downstream envelope (already carries `from`). */
  frame: Uint8Array;
  reliable: boolean;
  /** Recipients by identity; undefined = everyone but the sender. */
  to?: readonly string[];
}

/** Why a data message from a participant was refused; the driver reports it to the sender. */
export interface DataRejection {
  code: 'DATA_TOO_LARGE' | 'PERMISSION_DENIED' | 'SCHEMA_VIOLATION' | 'RATE_LIMITED';
  message: string;
}

/** A participant speaking now (the room's `activeSpeakers`), with its loudness: the amplitude, 0..1 (1 = full scale). */
export interface ActiveSpeaker {
  identity: string;
  level: number;
}
