import { Type, type Static } from '@sinclair/typebox';
import { MAX_METADATA_CHARS, PermissionsUpdateSchema } from '../../signaling/messages.js';

/** Request and response shapes of the room service API (docs/API.md), checked by TypeBox at the route. */
export const RoomName = Type.String({ minLength: 1, maxLength: 128 });
const Identity = Type.String({ minLength: 1, maxLength: 128 });
const TrackId = Type.String({ minLength: 1, maxLength: 64 });
/** Room and participant metadata: opaque to the server, like LiveKit's. */
export const Metadata = Type.String({ maxLength: MAX_METADATA_CHARS });

/** LiveKit's default: a created room that nobody joins closes after 5 minutes. */
export const DEFAULT_EMPTY_TIMEOUT_SECONDS = 300;

export const CreateRoomBody = Type.Object(
  {
    name: RoomName,
    /** 0 (default): only the node-wide signaling.maxParticipantsPerRoom applies. */
    maxParticipants: Type.Optional(Type.Integer({ minimum: 0, maximum: 100_000 })),
    /** How long the room stays with nobody in it, before the first join and after the last leave. */
    emptyTimeoutSeconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 7 * 24 * 3600 })),
    metadata: Type.Optional(Metadata),
  },
  { additionalProperties: false },
);
export type CreateRoomBody = Static<typeof CreateRoomBody>;

export const UpdateRoomBody = Type.Object({ metadata: Metadata }, { additionalProperties: false });
export type UpdateRoomBody = Static<typeof UpdateRoomBody>;

export const SendDataBody = Type.Object(
  {
    payload: Type.String({ maxLength: 4 * 1024 * 1024 }),
    /** `text` (default): the payload is sent as UTF-8 text; `base64`: it is decoded and sent as bytes. */
    encoding: Type.Optional(Type.Union([Type.Literal('text'), Type.Literal('base64')])),
    topic: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
    /** Only these participants; everyone in the room when absent. */
    destinationIdentities: Type.Optional(Type.Array(Identity, { minItems: 1, maxItems: 256 })),
    /** The reliable channel (default) or the lossy one. */
    reliable: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type SendDataBody = Static<typeof SendDataBody>;

export const MuteTrackBody = Type.Object({ muted: Type.Boolean() }, { additionalProperties: false });
export type MuteTrackBody = Static<typeof MuteTrackBody>;

export const UpdateParticipantBody = Type.Object(
  {
    /** The same rules as the `updateParticipant` message (signaling/messages.ts); roomAdmin and hidden are the token's. */
    permissions: Type.Optional(PermissionsUpdateSchema),
    metadata: Type.Optional(Metadata),
    name: Type.Optional(Type.String({ maxLength: 128 })),
  },
  { additionalProperties: false },
);
export type UpdateParticipantBody = Static<typeof UpdateParticipantBody>;

export const RoomParams = Type.Object({ room: RoomName }, { additionalProperties: false });
export const ParticipantParams = Type.Object({ room: RoomName, identity: Identity }, { additionalProperties: false });
export const TrackParams = Type.Object({ room: RoomName, identity: Identity, trackId: TrackId }, { additionalProperties: false });
export type RoomParams = Static<typeof RoomParams>;
export type ParticipantParams = Static<typeof ParticipantParams>;
export type TrackParams = Static<typeof TrackParams>;

/** A room as the API describes it. */
export interface RoomInfo {
  name: string;
  /** The node serving it. */
  nodeId: string;
  numParticipants: number;
  /** Wall-clock ms of its creation (its first join, or POST /api/v1/rooms). */
  createdAt: number;
  /** 0: only the node-wide limit applies. */
  maxParticipants: number;
  /** How long it stays with nobody in it; 0 for a room created by a join: it closes with its last participant. */
  emptyTimeoutSeconds: number;
  metadata: string;
}
