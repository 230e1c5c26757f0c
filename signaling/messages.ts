import { Type, type Static, type TSchema } from '@sinclair/typebox';

/** Version of the signaling protocol described in docs/PROTOCOL.md. Bumped on any incompatible change. */
export const PROTOCOL_VERSION = 1;

const Sdp = Type.String({ minLength: 1, maxLength: 60_000 });
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
    token: Type.String({ minLength: 1, maxLength: 8192 }),
    protocolVersion: Type.Optional(Type.Integer({ minimum: 1 })),
  },
  { additionalProperties: false },
);

export const PublishedTrackDescription = Type.Object(
  {
    mid: Type.String({ minLength: 1, maxLength: 32 }),
    source: TrackSource,
    name: Type.Optional(Type.String({ maxLength: 128 })),
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

export const UnpublishRequest = Type.Object(
  { type: Type.Literal('unpublish'), trackId: TrackId },
  { additionalProperties: false },
);

export const LeaveRequest = Type.Object({ type: Type.Literal('leave') }, { additionalProperties: false });

/** Every message a client may send, keyed by `type`. */
export const clientMessageSchemas = {
  join: JoinRequest,
  publishOffer: PublishOffer,
  subscriberAnswer: SubscriberAnswer,
  trickle: TrickleRequest,
  unpublish: UnpublishRequest,
  leave: LeaveRequest,
} satisfies Record<string, TSchema>;

export type ClientMessageType = keyof typeof clientMessageSchemas;
export type ClientMessage = { [K in ClientMessageType]: Static<(typeof clientMessageSchemas)[K]> }[ClientMessageType];
export type ClientMessageOf<K extends ClientMessageType> = Static<(typeof clientMessageSchemas)[K]>;

// ---- server → client -------------------------------------------------------------------------

export type PeerTargetName = Static<typeof PeerTarget>;
export type TrackSourceName = Static<typeof TrackSource>;
export type IceCandidateInit = Static<typeof IceCandidateSchema>;

export interface TrackInfo {
  trackId: string;
  participantIdentity: string;
  kind: 'audio' | 'video';
  source: TrackSourceName;
  name?: string;
  /** Negotiated codec mime type, e.g. `video/VP8`. */
  mimeType?: string;
}

export interface ParticipantInfo {
  identity: string;
  name?: string;
  joinedAt: number;
  tracks: TrackInfo[];
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
      grants: { canPublish: boolean; canSubscribe: boolean; canPublishData: boolean };
      /** Everyone else already in the room, with their published tracks. */
      participants: ParticipantInfo[];
      iceServers: IceServerInfo[];
      limits: { maxDataMessageBytes: number; maxMessageBytes: number };
      heartbeat: { intervalMs: number; timeoutMs: number };
    }
  | { type: 'participantJoined'; participant: ParticipantInfo }
  | { type: 'participantLeft'; identity: string; reason: string }
  | { type: 'trackPublished'; track: TrackInfo }
  | { type: 'trackUnpublished'; trackId: string; participantIdentity: string }
  /** `tracks` lists the tracks this offer started publishing, each with its m-line's mid. */
  | { type: 'publishAnswer'; sdp: string; tracks: (TrackInfo & { mid: string })[] }
  /** `tracks` maps each sending m-line's mid to the published track it carries. */
  | { type: 'subscriberOffer'; sdp: string; tracks: Record<string, string> }
  | { type: 'trickle'; target: PeerTargetName; candidate: IceCandidateInit }
  | { type: 'rtt'; rttMs: number }
  | { type: 'error'; code: string; message: string; requestType?: string }
  | { type: 'leave'; reason: string };
