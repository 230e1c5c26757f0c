/**
 * The teacher's buttons on each remote tile (shown only while this client has roomAdmin): Mute (the server mutes
 * their microphone), Ask to unmute (they get a notice and decide), Allow to speak / Revoke (grant or take away
 * canPublish, live: revoking unpublishes their tracks at once), Remove (disconnected for good, code 4013).
 */
import type { RemoteParticipant, RemoteTrackInfo, Room } from '../sdk/index.js';

type Action = 'mute' | 'ask-unmute' | 'allow' | 'revoke' | 'remove';

const LABELS: Record<Action, [text: string, ariaLabel: (name: string) => string]> = {
  mute: ['Mute', (name) => `Mute ${name}'s microphone`],
  'ask-unmute': ['Ask to unmute', (name) => `Ask ${name} to unmute`],
  allow: ['Allow to speak', (name) => `Allow ${name} to speak (publish camera and microphone)`],
  revoke: ['Revoke', (name) => `Stop ${name} speaking (their camera and microphone stop)`],
  remove: ['Remove', (name) => `Remove ${name} from the room`],
};

export interface ControlHooks {
  /** Shows a refusal (the server's error message). */
  notify(text: string): void;
  /** Redraws the tiles from the room's state (after a request settles). */
  refresh(): void;
}

export function microphoneOf(participant: RemoteParticipant): RemoteTrackInfo | undefined {
  return [...participant.tracks.values()].find((t) => t.source === 'microphone');
}

/**
 * Fills and updates `container` (the tile's `.tile-controls`) for `participant`. Buttons carry
 * `data-testid="<action>-button"`; each is disabled while its request is under way and when it would do nothing.
 */
export function renderModeratorControls(container: HTMLElement, room: Room, participant: RemoteParticipant, hooks: ControlHooks): void {
  const admin = room.localParticipant.permissions.roomAdmin;
  container.hidden = !admin;
  if (!admin) return;
  if (container.childElementCount === 0) {
    const name = participant.name ?? participant.identity;
    for (const action of Object.keys(LABELS) as Action[]) {
      const [text, ariaLabel] = LABELS[action];
      const button = document.createElement('button');
      button.type = 'button';
      button.textContent = text;
      button.setAttribute('aria-label', ariaLabel(name));
      button.dataset.testid = `${action}-button`;
      button.dataset.action = action;
      button.addEventListener('click', () => void run(button, room, participant.identity, action, hooks));
      container.append(button);
    }
  }
  const microphone = microphoneOf(participant);
  const canPublish = participant.permissions.canPublish;
  const state: Record<Action, { disabled: boolean; hidden: boolean }> = {
    mute: { disabled: microphone === undefined || microphone.muted, hidden: false },
    'ask-unmute': { disabled: microphone === undefined || !microphone.muted, hidden: false },
    allow: { disabled: false, hidden: canPublish },
    revoke: { disabled: false, hidden: !canPublish },
    remove: { disabled: false, hidden: false },
  };
  for (const button of container.querySelectorAll<HTMLButtonElement>('button')) {
    const { disabled, hidden } = state[button.dataset.action as Action];
    button.hidden = hidden;
    button.disabled = disabled || button.dataset.busy === 'true';
  }
}

/** Sends the action's request; reads the participant's tracks at click time (they change). */
async function run(button: HTMLButtonElement, room: Room, identity: string, action: Action, hooks: ControlHooks): Promise<void> {
  const participant = room.participants.get(identity);
  if (participant === undefined) return;
  button.dataset.busy = 'true';
  button.disabled = true;
  try {
    const microphone = microphoneOf(participant);
    switch (action) {
      case 'mute':
      case 'ask-unmute':
        if (microphone !== undefined) await room.muteParticipantTrack(identity, microphone.trackId, action === 'mute');
        break;
      case 'allow':
      case 'revoke':
        await room.updateParticipant(identity, { permissions: { canPublish: action === 'allow' } });
        break;
      case 'remove':
        await room.removeParticipant(identity);
        break;
    }
  } catch (err) {
    hooks.notify(`${LABELS[action][0]} ${participant.name ?? identity}: ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    delete button.dataset.busy;
    hooks.refresh();
  }
}
