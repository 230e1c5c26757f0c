import type { ParticipantInfo, ParticipantUpdate, TrackInfo } from '../../signaling/index.js';

export type { ParticipantUpdate };

/**
 * The moderation operations the participant routes call, on this node's room: signaling's RoomAdministration
 * (signaling/room-admin.ts), which sessions call too, so that the API and a teacher's client follow the same rules.
 * Each throws a coded error (ROOM_NOT_FOUND, PARTICIPANT_NOT_FOUND, TRACK_NOT_FOUND, PERMISSION_DENIED, SCHEMA_VIOLATION).
 */
export interface RoomAdministrationPort {
  listParticipants(room: string): ParticipantInfo[];
  removeParticipant(room: string, identity: string, by?: string): void;
  muteTrack(room: string, identity: string, trackId: string, muted: boolean, by?: string): TrackInfo;
  updateParticipant(room: string, identity: string, update: ParticipantUpdate, by?: string): ParticipantInfo;
}
