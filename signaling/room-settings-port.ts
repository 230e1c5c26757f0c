/**
 * What a room's creator set for it (the room service API, server/room-api/): read by a join. Declared here so signaling
 * depends on an interface; the server passes its room registry.
 */
export interface RoomSettings {
  /** Participants the room takes (0: only the node-wide signaling.maxParticipantsPerRoom applies). */
  maxParticipants: number;
  /** Sent in `joined.room.metadata`; empty: none set. */
  metadata: string;
}

export interface RoomSettingsPort {
  /** The room's settings, or undefined when nobody set any (a room created by its first join). */
  settings(roomId: string): RoomSettings | undefined;
}

/** No room service: no room has settings. */
export const noRoomSettings: RoomSettingsPort = { settings: () => undefined };
