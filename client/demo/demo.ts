/**
 * The classroom demo served at `/`: join form → token from `/dev/token` (or a pasted one) → `Room.connect`,
 * a tile per participant, a chat box over reliable data messages (topic `chat`), a leave button and a
 * status line with the RTT. The role (`?teacher=1`, `?student=1`, or the form) picks the dev token: the teacher
 * moderates, a student speaks once allowed (classroom.ts). The built page imports the SDK from `./tsfu-sdk.js`
 * (scripts/build-client.mjs).
 */
import { Room, RequestError, decodeTokenClaims, type RemoteParticipant } from '../sdk/index.js';
import { ChatLog } from './chat.js';
import { roleFromQuery, startClassroom, tokenQueryFor, type Role } from './classroom.js';
import { SelfControls } from './self-controls.js';
import { TileGrid } from './tiles.js';

const CHAT_TOPIC = 'chat';
/** Close code of a participant a moderator removed (docs/PROTOCOL.md, "Close codes"). */
const REMOVED = 4013;

declare global {
  interface Window {
    /** The demo's current room, for automated browser tests. */
    tsfuDemo: { room: Room | undefined };
  }
}

function byId<T extends HTMLElement>(id: string): T {
  const element = document.getElementById(id);
  if (element === null) throw new Error(`#${id} is missing from index.html`);
  return element as T;
}

const ui = {
  joinForm: byId<HTMLFormElement>('join-form'),
  roomInput: byId<HTMLInputElement>('room-input'),
  identityInput: byId<HTMLInputElement>('identity-input'),
  roleSelect: byId<HTMLSelectElement>('role-select'),
  cameraCheckbox: byId<HTMLInputElement>('camera-checkbox'),
  microphoneCheckbox: byId<HTMLInputElement>('microphone-checkbox'),
  tokenRow: byId<HTMLElement>('token-row'),
  tokenInput: byId<HTMLTextAreaElement>('token-input'),
  joinButton: byId<HTMLButtonElement>('join-button'),
  joinError: byId<HTMLElement>('join-error'),
  roomView: byId<HTMLElement>('room-view'),
  chatForm: byId<HTMLFormElement>('chat-form'),
  chatInput: byId<HTMLInputElement>('chat-input'),
  leaveButton: byId<HTMLButtonElement>('leave-button'),
  statusText: byId<HTMLElement>('status-text'),
  rtt: byId<HTMLElement>('rtt'),
  notice: byId<HTMLElement>('notice'),
};
const tiles = new TileGrid(byId('tiles'));
const chat = new ChatLog(byId('chat-log'));
const self = new SelfControls(
  {
    publishButton: byId('publish-button'),
    micButton: byId('mic-button'),
    handButton: byId('hand-button'),
    publishHint: byId('publish-hint'),
    cameraCheckbox: ui.cameraCheckbox,
    microphoneCheckbox: ui.microphoneCheckbox,
    unmuteRequest: byId('unmute-request'),
    unmuteRequestText: byId('unmute-request-text'),
    acceptUnmuteButton: byId('accept-unmute-button'),
    dismissUnmuteButton: byId('dismiss-unmute-button'),
  },
  tiles,
  (text) => showNotice(text),
);
window.tsfuDemo = { room: undefined };

// ?room=R&identity=I prefill the form; ?teacher=1, ?student=1 (or ?role=) choose the role.
const params = new URLSearchParams(location.search);
ui.roomInput.value = params.get('room') ?? ui.roomInput.value;
ui.identityInput.value = params.get('identity') ?? `guest-${Math.floor(Math.random() * 10_000)}`;
ui.roleSelect.value = roleFromQuery(params) ?? ui.roleSelect.value;

ui.joinForm.addEventListener('submit', (event) => {
  event.preventDefault();
  void join();
});
ui.chatForm.addEventListener('submit', (event) => {
  event.preventDefault();
  sendChat();
});
ui.leaveButton.addEventListener('click', () => void window.tsfuDemo.room?.leave());

async function join(): Promise<void> {
  showJoinError(undefined);
  ui.joinButton.disabled = true;
  setStatus('Connecting…');
  try {
    const pasted = ui.tokenInput.value.trim();
    const role = ui.roleSelect.value as Role;
    const token = pasted !== '' ? pasted : await fetchDevToken(ui.roomInput.value.trim(), ui.identityInput.value.trim(), role);
    if (token === undefined) {
      setStatus('Not connected');
      return;
    }
    // A pasted token names its own room; a fetched one is for the room typed in the form.
    const typedRoom = ui.roomInput.value.trim();
    const roomId = pasted !== '' ? (decodeTokenClaims(pasted)?.room ?? typedRoom) : typedRoom;
    const room = await Room.connect(wsUrl(), token, { roomId });
    enterRoom(room);
    // Whoever may publish from the start does (a student waits to be allowed: its camera button).
    if (room.localParticipant.permissions.canPublish && (ui.cameraCheckbox.checked || ui.microphoneCheckbox.checked)) await self.publish();
  } catch (err) {
    setStatus('Not connected');
    showJoinError(describeJoinError(err));
  } finally {
    ui.joinButton.disabled = false;
  }
}

/** Returns the token, or undefined after asking for a pasted one (the server has real keys: 404). */
async function fetchDevToken(room: string, identity: string, role: Role): Promise<string | undefined> {
  const query = new URLSearchParams({ room, identity, ...tokenQueryFor(role) });
  const response = await fetch(`/dev/token?${query}`);
  if (response.status === 404) {
    ui.tokenRow.hidden = false;
    showJoinError('This server has real keys configured; paste a token.');
    ui.tokenInput.focus();
    return undefined;
  }
  if (!response.ok) throw new Error(`token request failed: HTTP ${response.status}`);
  const body = (await response.json()) as { token?: unknown };
  if (typeof body.token !== 'string') throw new Error('token response has no "token" string');
  return body.token;
}

function enterRoom(room: Room): void {
  window.tsfuDemo.room = room;
  ui.joinForm.hidden = true;
  ui.roomView.hidden = false;
  showNotice(undefined);
  tiles.ensure(room.localIdentity, room.localName ?? room.localIdentity, true);
  for (const participant of room.participants.values()) addParticipant(room, participant);

  room.on('participantJoined', (participant) => {
    addParticipant(room, participant);
    updateStatus(room);
  });
  room.on('participantLeft', (participant) => {
    tiles.remove(participant.identity);
    updateStatus(room);
  });
  room.on('trackSubscribed', (info, track) => showRemoteTrack(room, info.participantIdentity, info.trackId, track));
  room.on('trackUnsubscribed', (info) => tiles.detach(info.participantIdentity, info.trackId));
  room.on('data', (message) => {
    if (message.topic !== CHAT_TOPIC || message.text === undefined) return;
    chat.append(message.from, room.participants.get(message.from)?.name ?? message.from, message.text, false);
  });
  room.on('activeSpeakersChanged', (speakers) => tiles.setSpeakers(speakers.map((s) => s.identity)));
  room.on('rtt', (rttMs) => (ui.rtt.textContent = `RTT ${rttMs} ms`));
  room.on('error', (error) => showNotice(`${error.code}: ${error.message}`));
  room.on('disconnected', ({ code, reason }) => {
    exitRoom();
    if (code === REMOVED) {
      // The SDK does not reconnect after a removal; joining again is the user's decision.
      setStatus('Removed from the room');
      showNotice('The teacher removed you from the room.');
      return;
    }
    setStatus(code === 1000 ? 'Left the room' : `Disconnected (code ${code}${reason ? `: ${reason}` : ''})`);
  });
  updateStatus(room);
  startClassroom(room, tiles, self, (text) => showNotice(text));
}

function addParticipant(room: Room, participant: RemoteParticipant): void {
  tiles.ensure(participant.identity, participant.name ?? participant.identity);
  for (const info of participant.subscribedTracks) {
    if (info.track !== undefined) showRemoteTrack(room, participant.identity, info.trackId, info.track);
  }
}

/** A remote video reports its tile's size and visibility to the server (adaptive stream), until unsubscribed. */
function showRemoteTrack(room: Room, identity: string, trackId: string, track: MediaStreamTrack): void {
  const element = tiles.attach(identity, trackId, track);
  if (element instanceof HTMLVideoElement) room.observeVideo(trackId, element);
}

function sendChat(): void {
  const room = window.tsfuDemo.room;
  const text = ui.chatInput.value.trim();
  if (room === undefined || text === '') return;
  try {
    room.sendData(text, { reliable: true, topic: CHAT_TOPIC });
    chat.append(room.localIdentity, room.localName ?? room.localIdentity, text, true);
    ui.chatInput.value = '';
  } catch (err) {
    showNotice(`Message not sent: ${err instanceof Error ? err.message : String(err)}`);
  }
}

function exitRoom(): void {
  window.tsfuDemo.room = undefined;
  self.detach();
  tiles.clear();
  chat.clear();
  ui.rtt.textContent = '';
  ui.roomView.hidden = true;
  ui.joinForm.hidden = false;
}

function updateStatus(room: Room): void {
  const others = room.participants.size;
  setStatus(`Connected to ${room.roomId} as ${room.localIdentity} · ${others} other${others === 1 ? '' : 's'}`);
}

function setStatus(text: string): void {
  ui.statusText.textContent = text;
}

function showNotice(text: string | undefined): void {
  ui.notice.hidden = text === undefined;
  ui.notice.textContent = text ?? '';
}

function showJoinError(text: string | undefined): void {
  ui.joinError.hidden = text === undefined;
  ui.joinError.textContent = text ?? '';
}

function describeJoinError(err: unknown): string {
  if (err instanceof RequestError) return `Could not join: ${err.code}: ${err.message}`;
  return `Could not join: ${err instanceof Error ? err.message : String(err)}`;
}

function wsUrl(): string {
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/v1/rtc`;
}
