import { TypeCompiler } from '@sinclair/typebox/compiler';
import { Type } from '@sinclair/typebox';
import type { Logger } from 'pino';
import type { Counter } from 'prom-client';
import { CloseCode, ErrorCode, SignalingError } from './errors.js';
import { MAX_METADATA_CHARS, PermissionsUpdateSchema, type ParticipantInfo, type PermissionsUpdate, type ServerMessage, type TrackInfo } from './messages.js';
import type { ParticipantPort, RoomPort, SfuPort } from './sfu-port.js';

/** A joined signaling session, as moderation needs it. */
export interface ModeratedSession {
  send(message: ServerMessage): void;
  close(code: number, message: string, reason: string, notice?: ServerMessage): void;
}

export interface RoomAdministrationDeps {
  sfu: SfuPort;
  /** The session holding `identity` in `room` on this node, if any. */
  findSession(room: string, identity: string): ModeratedSession | undefined;
  logger: Logger;
  /** tsfu_signaling_moderation_actions_total{action}. */
  actions: Counter<'action'>;
}

export interface ParticipantUpdate {
  permissions?: PermissionsUpdate;
  metadata?: string;
  name?: string;
}

/** The same rules whether the update came from a `updateParticipant` message (already checked) or the HTTP API. */
const checkUpdate = TypeCompiler.Compile(
  Type.Object(
    {
      permissions: Type.Optional(PermissionsUpdateSchema),
      metadata: Type.Optional(Type.String({ maxLength: MAX_METADATA_CHARS })),
      name: Type.Optional(Type.String({ maxLength: 128 })),
    },
    { additionalProperties: false },
  ),
);

/**
 * Moderation of the rooms this node serves (docs/PROTOCOL.md, "Moderation"): shared by the signaling sessions (after
 * they checked the sender's roomAdmin) and the room service API, so the rules are the same. Each method throws a
 * SignalingError (ROOM_NOT_FOUND, PARTICIPANT_NOT_FOUND, TRACK_NOT_FOUND, SCHEMA_VIOLATION) on bad input. `by` is the
 * moderator's identity (absent: the server's API).
 */
export class RoomAdministration {
  readonly #deps: RoomAdministrationDeps;

  constructor(deps: RoomAdministrationDeps) {
    this.#deps = deps;
  }

  /** Everyone in the room, hidden participants included (flagged `hidden: true`). */
  listParticipants(room: string): ParticipantInfo[] {
    return this.#room(room).snapshot(undefined, true);
  }

  /** Tells it `leave {reason:'removed'}` and closes its socket (4013); its session cannot be resumed. */
  removeParticipant(room: string, identity: string, by?: string): void {
    const participant = this.#participant(room, identity);
    this.#record('remove', room, identity, by);
    const session = this.#deps.findSession(room, identity);
    if (session) session.close(CloseCode.REMOVED, 'removed by a moderator', 'removed', { type: 'leave', reason: 'removed' });
    participant.close('removed');
  }

  /**
   * muted true: muted on the server now (forwarded to nobody) and everyone is told. muted false: a request its owner
   * gets (`unmuteRequested`) and decides on; the track stays muted until the owner unmutes it. Returns the track.
   */
  muteTrack(room: string, identity: string, trackId: string, muted: boolean, by?: string): TrackInfo {
    const participant = this.#participant(room, identity);
    const track = participant.publishedTracks.get(trackId);
    if (!track) throw new SignalingError(ErrorCode.TRACK_NOT_FOUND, `track ${trackId} is not published by ${identity}`);
    if (muted) {
      participant.setTrackMuted(trackId, true, by);
      this.#record('mute', room, identity, by, { trackId });
    } else {
      this.#record('unmute_request', room, identity, by, { trackId });
      if (track.info.muted) this.#deps.findSession(room, identity)?.send({ type: 'unmuteRequested', trackId, by: by ?? 'server' });
    }
    return track.info;
  }

  /** Permissions (roomAdmin and hidden are the token's), metadata and/or name; everyone is told. Returns the participant. */
  updateParticipant(room: string, identity: string, update: ParticipantUpdate, by?: string): ParticipantInfo {
    if (!checkUpdate.Check(update)) {
      const first = checkUpdate.Errors(update).First();
      throw new SignalingError(ErrorCode.SCHEMA_VIOLATION, `participant update: ${first?.path || '/'}: ${first?.message ?? 'invalid'}`);
    }
    const participant = this.#participant(room, identity);
    participant.update(update);
    this.#record('update_participant', room, identity, by, { permissions: update.permissions, metadata: update.metadata !== undefined, name: update.name });
    return participant.snapshot();
  }

  #room(room: string): RoomPort {
    const found = this.#deps.sfu.findRoom(room);
    if (!found) throw new SignalingError(ErrorCode.ROOM_NOT_FOUND, `room "${room}" is not served here`);
    return found;
  }

  #participant(room: string, identity: string): ParticipantPort {
    const participant = this.#room(room).participant(identity);
    if (!participant) throw new SignalingError(ErrorCode.PARTICIPANT_NOT_FOUND, `"${identity}" is not in room "${room}"`);
    return participant;
  }

  #record(action: string, roomId: string, target: string, by: string | undefined, details: Record<string, unknown> = {}): void {
    this.#deps.actions.inc({ action });
    this.#deps.logger.info({ action, roomId, participantId: target, by: by ?? 'api', ...details }, 'moderation');
  }
}
