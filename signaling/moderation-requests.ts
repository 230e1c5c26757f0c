import type { Logger } from 'pino';
import type { Counter } from 'prom-client';
import { ErrorCode, SignalingError } from './errors.js';
import type { ClientMessage, ClientMessageOf } from './messages.js';
import type { RoomAdministration } from './room-admin.js';
import type { ParticipantPort } from './sfu-port.js';

const MODERATION_TYPES = new Set(['updateMetadata', 'muteTrack', 'muteParticipantTrack', 'removeParticipant', 'updateParticipant']);

export type ModerationMessage = ClientMessageOf<'updateMetadata' | 'muteTrack' | 'muteParticipantTrack' | 'removeParticipant' | 'updateParticipant'>;

export function isModerationMessage(message: ClientMessage): message is ModerationMessage {
  return MODERATION_TYPES.has(message.type);
}

export interface ModerationSender {
  roomId: string;
  participant: ParticipantPort;
  admin: RoomAdministration;
  logger: Logger;
  actions: Counter<'action'>;
}

/**
 * A joined participant's moderation request (docs/PROTOCOL.md, "Moderation"): its own metadata and tracks, or, with
 * roomAdmin (as it is now), another participant through RoomAdministration. Throws a SignalingError when refused.
 */
export function handleModerationRequest(message: ModerationMessage, sender: ModerationSender): void {
  const { participant, roomId } = sender;
  const self = participant.identity;
  switch (message.type) {
    case 'updateMetadata': {
      if (!participant.grants.canUpdateOwnMetadata && !participant.grants.roomAdmin) {
        throw new SignalingError(ErrorCode.PERMISSION_DENIED, 'updating your own metadata needs canUpdateOwnMetadata');
      }
      participant.update({ metadata: message.metadata, name: message.name });
      sender.actions.inc({ action: 'update_own_metadata' });
      sender.logger.info({ action: 'update_own_metadata', roomId, participantId: self, metadata: message.metadata !== undefined, name: message.name }, 'moderation');
      return;
    }
    case 'muteTrack': {
      // A participant may always mute and unmute its own tracks, also after a moderator muted one.
      participant.setTrackMuted(message.trackId, message.muted);
      const action = message.muted ? 'mute_own_track' : 'unmute_own_track';
      sender.actions.inc({ action });
      sender.logger.info({ action, roomId, participantId: self, trackId: message.trackId }, 'moderation');
      return;
    }
  }
  if (!participant.grants.roomAdmin) throw new SignalingError(ErrorCode.PERMISSION_DENIED, `"${message.type}" needs roomAdmin`);
  switch (message.type) {
    case 'muteParticipantTrack':
      sender.admin.muteTrack(roomId, message.identity, message.trackId, message.muted, self);
      return;
    case 'removeParticipant':
      sender.admin.removeParticipant(roomId, message.identity, self);
      return;
    case 'updateParticipant': {
      const { type: _, identity, requestId: __, ...update } = message;
      sender.admin.updateParticipant(roomId, identity, update, self);
      return;
    }
  }
}
