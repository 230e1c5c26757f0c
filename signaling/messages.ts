import { Type, type Static, type TSchema } from '@sinclair/typebox';

/** Version of the signaling protocol described in docs/PROTOCOL.md. Bumped on any incompatible change. */
export const PROTOCOL_VERSION = 1;

/**
 * A subscriber answer for the largest allowed subscription (rtc.maxSubscriptionsPerParticipant, 200 by
 * default: 100 participants with camera and microphone) is about 150 kB from a browser (≈ 0.7 kB per m-line)
 * and 200 kB from werift (≈ 1 kB). In JSON each CRLF takes 4 characters, so a frame holding an SDP at this cap
 * may be ≈ 2 × its size in the worst case: `signaling.maxMessageBytes` (512 KiB) leaves room for it.
 */
const Sdp = Type.String({ minLength: 1, maxLength: 250_000 });
/** One request names at most this many tracks (a full room's worth). */
const TrackIds = Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { minItems: 1, maxItems: 400 });
const Identity = Type.String({ minLength: 1, maxLength: 128 });
const TrackId = Type.String({ minLength: 1, maxLength: 64 });
const PeerTarget = Type.Union([Type.Literal('publisher'), Type.Literal('subscriber')]);
const TrackSource = Type.Union([
  Type.Literal('camera'),
  Type.Literal('microphone'),
  Type.Literal('screen'),
  Type.Literal('screen_audio'),
  Type.Literal('unknown'),
]);

export const IceCandidateSchema = Type.Object(
  {
    candidate: Type.String({ maxLength: 1024 }),
    sdpMid: Type.Optional(Type.Union([Type.String({ maxLength: 64 }), Type.Null()])),
    sdpMLineIndex: Type.Optional(Type.Union([Type.Integer({ minimum: 0, maximum: 255 }), Type.Null()])),
    usernameFragment: Type.Optional(Type.Union([Type.String({ maxLength: 256 }), Type.Null()])),
  },
  { additionalProperties: false },
);

// ---- client → server -------------------------------------------------------------------------

export const JoinRequest = Type.Object(
  {
    type: Type.Literal('join'),
    room: Type.String({ minLength: 1, maxLength: 128 }),
    // An empty token passes the schema so that it gets TOKEN_MISSING and 4001, as every other token problem does.
    token: Type.String({ maxLength: 8192 }),
    protocolVersion: Type.Optional(Type.Integer({ minimum: 1 })),
    /** Receive every track published in the room without asking (default true); false: only `subscribe`d ones. */
    autoSubscribe: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);

/** A simulcast layer by its RTP stream id (RFC 8851 §10: rid-syntax, alphanumeric, '-' and '_'). */
const SimulcastLayer = Type.Object(
  {
    rid: Type.String({ minLength: 1, maxLength: 16, pattern: '^[A-Za-z0-9_-]+$' }),
    width: Type.Optional(Type.Integer({ minimum: 1, maximum: 16384 })),
    height: Type.Optional(Type.Integer({ minimum: 1, maximum: 16384 })),
  },
  { additionalProperties: false },
);

export const PublishedTrackDescription = Type.Object(
  {
    mid: Type.String({ minLength: 1, maxLength: 32 }),
    source: TrackSource,
    name: Type.Optional(Type.String({ maxLength: 128 })),
    /** Simulcast: the m-line's layers, lowest quality first (the order the SFU chooses them in). */
    layers: Type.Optional(Type.Array(SimulcastLayer, { minItems: 1, maxItems: 4 })),
  },
  { additionalProperties: false },
);

export const PublishOffer = Type.Object(
  {
    type: Type.Literal('publishOffer'),
    sdp: Sdp,
    tracks: Type.Array(PublishedTrackDescription, { maxItems: 16 }),
  },
  { additionalProperties: false },
);

export const SubscriberAnswer = Type.Object(
  { type: Type.Literal('subscriberAnswer'), sdp: Sdp },
  { additionalProperties: false },
);

export const TrickleRequest = Type.Object(
  { type: Type.Literal('trickle'), target: PeerTarget, candidate: IceCandidateSchema },
  { additionalProperties: false },
);

/**
 * Asks the server to restart ICE on a connection it offers (docs/PROTOCOL.md, "ICE restart"): answered by a
 * `subscriberOffer` with new ICE credentials. The publisher connection is restarted by the client's own offer.
 */
export const IceRestartRequest = Type.Object(
  { type: Type.Literal('iceRestart'), target: Type.Literal('subscriber') },
  { additionalProperties: false },
);

export const UnpublishRequest = Type.Object(
  { type: Type.Literal('unpublish'), trackId: TrackId },
  { additionalProperties: false },
);

export const SubscribeRequest = Type.Object(
  { type: Type.Literal('subscribe'), trackIds: TrackIds },
  { additionalProperties: false },
);

export const UnsubscribeRequest = Type.Object(
  { type: Type.Literal('unsubscribe'), trackIds: TrackIds },
  { additionalProperties: false },
);

/** Adaptive stream: how the client shows video tracks it receives (each must be one it receives). */
export const TrackSettingsRequest = Type.Object(
  {
    type: Type.Literal('trackSettings'),
    trackIds: TrackIds,
    enabled: Type.Optional(Type.Boolean()),
    width: Type.Optional(Type.Integer({ minimum: 0, maximum: 16384 })),
    height: Type.Optional(Type.Integer({ minimum: 0, maximum: 16384 })),
    quality: Type.Optional(Type.Union([Type.Literal('low'), Type.Literal('medium'), Type.Literal('high')])),
  },
  { additionalProperties: false },
);

export const LeaveRequest = Type.Object({ type: Type.Literal('leave') }, { additionalProperties: false });

/** Answered with `pong` carrying the same `id`, in any state: an application-level round trip. */
export const PingRequest = Type.Object(
  { type: Type.Literal('ping'), id: Type.Optional(Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER })) },
  { additionalProperties: false },
);

/**
 * Instead of `join`, on a new socket: takes over the session of `joined.resume.token` (its socket dropped), with
 * `lastReceived` the number of frames read after `joined` (`rtt` not counted).
 */
export const ResumeRequest = Type.Object(
  {
    type: Type.Literal('resume'),
    token: Type.String({ minLength: 1, maxLength: 64 }),
    lastReceived: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }),
  },
  { additionalProperties: false },
);

// ---- moderation (docs/PROTOCOL.md, "Moderation") ----

/** A participant's metadata (e.g. a raised hand as JSON), as long as the token's `metadata` claim may be. */
export const MAX_METADATA_CHARS = 16_384;
const Metadata = Type.String({ maxLength: MAX_METADATA_CHARS });
const DisplayName = Type.String({ maxLength: 128 });
/** Echoed in `requestDone` (and in an `error` about the request) so the client can match the reply. */
const RequestId = Type.Optional(Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }));

/** Own metadata and/or name: needs canUpdateOwnMetadata or roomAdmin. */
export const UpdateMetadataRequest = Type.Object(
  { type: Type.Literal('updateMetadata'), metadata: Type.Optional(Metadata), name: Type.Optional(DisplayName), requestId: RequestId },
  { additionalProperties: false },
);

/** Mutes or unmutes one of the sender's own tracks on the server. */
export const MuteTrackRequest = Type.Object(
  { type: Type.Literal('muteTrack'), trackId: TrackId, muted: Type.Boolean(), requestId: RequestId },
  { additionalProperties: false },
);

/** roomAdmin: mutes another participant's track now, or (muted false) asks its owner to unmute. */
export const MuteParticipantTrackRequest = Type.Object(
  { type: Type.Literal('muteParticipantTrack'), identity: Identity, trackId: TrackId, muted: Type.Boolean(), requestId: RequestId },
  { additionalProperties: false },
);

/** roomAdmin: removes a participant from the room (it may not resume that session). */
export const RemoveParticipantRequest = Type.Object(
  { type: Type.Literal('removeParticipant'), identity: Identity, requestId: RequestId },
  { additionalProperties: false },
);

export const PermissionsUpdateSchema = Type.Object(
  {
    canPublish: Type.Optional(Type.Boolean()),
    canSubscribe: Type.Optional(Type.Boolean()),
    canPublishData: Type.Optional(Type.Boolean()),
    canPublishSources: Type.Optional(Type.Array(TrackSource, { maxItems: 5 })),
    canUpdateOwnMetadata: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);

/** roomAdmin: changes another participant's (or its own) permissions, metadata and/or name. */
export const UpdateParticipantRequest = Type.Object(
  {
    type: Type.Literal('updateParticipant'),
    identity: Identity,
    permissions: Type.Optional(PermissionsUpdateSchema),
    metadata: Type.Optional(Metadata),
    name: Type.Optional(DisplayName),
    requestId: RequestId,
  },
  { additionalProperties: false },
);

/** A connect time in ms as a client measured it; over 10 minutes is no connect time (a suspended laptop) and is refused. */
const ClientMeasuredMs = Type.Number({ minimum: 0, maximum: 600_000 });
/** RTCIceCandidate.type (RFC 8445 §5.1.1): relay means through TURN. */
const CandidateType = Type.Union([Type.Literal('host'), Type.Literal('srflx'), Type.Literal('prflx'), Type.Literal('relay')]);
const PerPeer = <T extends TSchema>(value: T) =>
  Type.Object({ publisher: Type.Optional(value), subscriber: Type.Optional(value) }, { additionalProperties: false });

/**
 * Connect times the client measured (docs/PROTOCOL.md, "Client metrics"), each sent once it is known: the server
 * counts each field at most once per session and ignores repeats.
 */
export const ClientMetricsReport = Type.Object(
  {
    type: Type.Literal('clientMetrics'),
    /** From `new WebSocket()` to its `open` event. */
    wsConnectMs: Type.Optional(ClientMeasuredMs),
    /** From the peer connection's first negotiation to `connectionState` "connected". */
    iceConnectMs: Type.Optional(PerPeer(ClientMeasuredMs)),
    /** The local candidate type of the selected candidate pair once connected. */
    selectedCandidateType: Type.Optional(PerPeer(CandidateType)),
  },
  { additionalProperties: false },
);

/** Every message a client may send, keyed by `type`. */
export const clientMessageSchemas = {
  join: JoinRequest,
  publishOffer: PublishOffer,
  subscriberAnswer: SubscriberAnswer,
  trickle: TrickleRequest,
  iceRestart: IceRestartRequest,
  unpublish: UnpublishRequest,
  subscribe: SubscribeRequest,
  unsubscribe: UnsubscribeRequest,
  trackSettings: TrackSettingsRequest,
  leave: LeaveRequest,
  ping: PingRequest,
  resume: ResumeRequest,
  clientMetrics: ClientMetricsReport,
  updateMetadata: UpdateMetadataRequest,
  muteTrack: MuteTrackRequest,
  muteParticipantTrack: MuteParticipantTrackRequest,
  removeParticipant: RemoveParticipantRequest,
  updateParticipant: UpdateParticipantRequest,
} satisfies Record<string, TSchema>;

export type ClientMessageType = keyof typeof clientMessageSchemas;
export type ClientMessage = { [K in ClientMessageType]: Static<(typeof clientMessageSchemas)[K]> }[ClientMessageType];
export type ClientMessageOf<K extends ClientMessageType> = Static<(typeof clientMessageSchemas)[K]>;

// ---- server → client -------------------------------------------------------------------------

export type PeerTargetName = Static<typeof PeerTarget>;
export type TrackSourceName = Static<typeof TrackSource>;
/** Every source a track may be announced as (the TrackSource schema's literals), for checks outside a schema. */
export const TRACK_SOURCES: readonly TrackSourceName[] = TrackSource.anyOf.map((literal) => literal.const);
export type IceCandidateInit = Static<typeof IceCandidateSchema>;

export interface TrackInfo {
  trackId: string;
  participantIdentity: string;
  kind: 'audio' | 'video';
  source: TrackSourceName;
  name?: string;
  /** Negotiated codec mime type, e.g. `video/VP8`. */
  mimeType?: string;
  /** Muted on the server: forwarded to nobody (docs/PROTOCOL.md, "Moderation"). */
  muted: boolean;
}

export interface ParticipantPermissions {
  canPublish: boolean;
  canSubscribe: boolean;
  canPublishData: boolean;
  /** Absent: every source. */
  canPublishSources?: TrackSourceName[];
  canUpdateOwnMetadata: boolean;
  roomAdmin: boolean;
}

export type PermissionsUpdate = Static<typeof PermissionsUpdateSchema>;

export interface ParticipantInfo {
  identity: string;
  /** Opaque id: the msid stream id of this participant's tracks in subscriber offers (identities never enter SDP). */
  sid: string;
  name?: string;
  metadata?: string;
  joinedAt: number;
  tracks: TrackInfo[];
  permissions: ParticipantPermissions;
  /** Only in server-side listings (RoomAdministration.listParticipants): a hidden participant. */
  hidden?: true;
}

export interface IceServerInfo {
  urls: string[];
  username?: string;
  credential?: string;
}

export type ServerMessage =
  | {
      type: 'joined';
      protocolVersion: number;
      roomId: string;
      participant: ParticipantInfo;
      grants: { canPublish: boolean; canSubscribe: boolean; canPublishData: boolean; roomAdmin: boolean; roomCreate: boolean; canPublishSources?: TrackSourceName[]; hidden: boolean; canUpdateOwnMetadata: boolean };
      /** Everyone else already in the room, with their published tracks. */
      participants: ParticipantInfo[];
      iceServers: IceServerInfo[];
      limits: { maxDataMessageBytes: number; maxMessageBytes: number };
      heartbeat: { intervalMs: number; timeoutMs: number };
      /** The room's own state: its metadata (room service API), absent when never set. */
      room: { metadata?: string };
      /** Present when the server keeps this session for `graceMs` after its socket drops: resume it with `token`. */
      resume?: { token: string; graceMs: number };
    }
  /** Reply to `resume`: the session is this socket's now; `lastReceived` frames sent after `joined` were read. */
  | { type: 'resumed'; lastReceived: number }
  | { type: 'participantJoined'; participant: ParticipantInfo }
  | { type: 'participantLeft'; identity: string; reason: string }
  | { type: 'trackPublished'; track: TrackInfo }
  /** `reason` other than `unpublished`: the server unpublished it (also sent to its owner). */
  | { type: 'trackUnpublished'; trackId: string; participantIdentity: string; reason?: 'unpublished' | 'permission' | 'removed' }
  /** A participant's metadata, name or permissions changed: to everyone, the participant too. */
  | { type: 'participantUpdated'; participant: ParticipantInfo }
  /** A track was muted or unmuted on the server: to everyone, its owner too; `by`: the moderator (absent: its owner). */
  | { type: 'trackMuted'; trackId: string; participantIdentity: string; muted: boolean; by?: string }
  /** To a track's owner only: a moderator asks it to unmute (the client decides). */
  | { type: 'unmuteRequested'; trackId: string; by: string }
  /** A moderation request (or updateMetadata/muteTrack) that carried `requestId` succeeded. */
  | { type: 'requestDone'; requestId: number }
  /**
   * Who speaks now, loudest first (this client too), from the audio levels publishers send (RFC 6464); `level` is the
   * amplitude, 0..1. Sent to everyone when the list changes (at most 4 times a second), and after `joined` when not empty.
   */
  | { type: 'activeSpeakers'; speakers: { identity: string; level: number }[] }
  /** `tracks` lists the tracks this offer started publishing, each with its m-line's mid. */
  | { type: 'publishAnswer'; sdp: string; tracks: (TrackInfo & { mid: string })[] }
  /** `tracks` maps each sending m-line's mid to the published track it carries. */
  | { type: 'subscriberOffer'; sdp: string; tracks: Record<string, string> }
  /** A received video track's layer (0 lowest) or paused state changed: bandwidth, or the client's settings. */
  | { type: 'trackState'; trackId: string; paused: boolean; layer: number; maxTemporalLayer?: number }
  /** Dynacast: the layers of one of this client's simulcast tracks that some subscriber receives (others may stop). */
  | { type: 'publishLayers'; trackId: string; layers: { rid: string; active: boolean }[] }
  | { type: 'trickle'; target: PeerTargetName; candidate: IceCandidateInit }
  | { type: 'rtt'; rttMs: number }
  | { type: 'pong'; id?: number }
  | { type: 'error'; code: string; message: string; requestType?: string; requestId?: number }
  | { type: 'leave'; reason: string }
  /** The room's metadata changed (room service API, `PATCH /api/v1/rooms/:room`): to everyone in the room. */
  | { type: 'roomUpdated'; metadata: string }
  /** The room is served by another node: join there with the same token (the socket closes next, code 4011). */
  | { type: 'redirect'; signalingUrl: string; nodeId: string };
