/**
 * The classroom on top of the tiles: each tile's status (raised hand, muted microphone, connection quality), the
 * teacher's buttons on remote tiles and this participant's own controls, redrawn from the room's state whenever
 * the room reports a change that could alter them (a handful of tiles: redrawing all is cheap and never stale).
 */
import type { Room } from '../sdk/index.js';
import { microphoneOf, renderModeratorControls } from './classroom-controls.js';
import { handRaised } from './hand.js';
import type { SelfControls } from './self-controls.js';
import type { TileGrid } from './tiles.js';

/** The page's role, from `?teacher=1`, `?student=1` or `?role=`: which dev token it asks for. */
export type Role = 'participant' | 'teacher' | 'student';

export function roleFromQuery(params: URLSearchParams): Role | undefined {
  if (params.get('teacher') === '1') return 'teacher';
  if (params.get('student') === '1') return 'student';
  const role = params.get('role');
  return role === 'participant' || role === 'teacher' || role === 'student' ? role : undefined;
}

/**
 * /dev/token parameters for a role. A teacher gets roomAdmin. A student joins with canPublish false, so a lesson
 * starts quiet and the teacher hands out the floor ("Allow to speak" grants canPublish live, on the same session);
 * the student still subscribes, chats and raises a hand (canUpdateOwnMetadata). Simpler than granting single sources:
 * one switch per student, and revoking it takes both camera and microphone away at once.
 */
export function tokenQueryFor(role: Role): Record<string, string> {
  if (role === 'teacher') return { admin: '1' };
  if (role === 'student') return { publish: '0' };
  return {};
}

export function startClassroom(room: Room, tiles: TileGrid, self: SelfControls, notify: (text: string) => void): void {
  const refresh = (): void => {
    if (!room.connected) return;
    const local = room.localParticipant;
    const microphone = [...room.localTracks.values()].find((t) => t.source === 'microphone');
    tiles.setStatus(room.localIdentity, {
      handRaised: handRaised(local.metadata),
      muted: microphone?.muted === true,
      quality: room.connectionQuality(room.localIdentity),
    });
    for (const participant of room.participants.values()) {
      tiles.setStatus(participant.identity, {
        handRaised: handRaised(participant.metadata),
        muted: microphoneOf(participant)?.muted === true,
        quality: room.connectionQuality(participant.identity),
      });
      const controls = tiles.controls(participant.identity);
      if (controls !== undefined) renderModeratorControls(controls, room, participant, { notify, refresh });
    }
    self.refresh();
  };
  for (const event of [
    'participantJoined',
    'participantUpdated',
    'localParticipantUpdated',
    'trackPublished',
    'trackUnpublished',
    'trackSubscribed',
    'trackMuted',
    'localTrackMuted',
    'localTrackUnpublished',
    'connectionQualityChanged',
    'reconnected',
  ] as const) {
    room.on(event, refresh);
  }
  self.attach(room);
  refresh();
}
