import { afterEach, expect, test, vi } from 'vitest';
import type { ClientMessage, ParticipantInfo } from '../../../signaling/messages.js';
import { Moderation } from '../../../client/sdk/moderation.js';
import { makeLocalTrack, type LocalTrack } from '../../../client/sdk/local-track.js';
import { RemoteParticipant } from '../../../client/sdk/participant.js';
import { RequestError } from '../../../client/sdk/errors.js';

afterEach(() => vi.useRealTimers());

const permissions = { canPublish: true, canSubscribe: true, canPublishData: true, canUpdateOwnMetadata: false, roomAdmin: false };
const me: ParticipantInfo = { identity: 'me', sid: 'PA_me', joinedAt: 0, tracks: [], permissions };
const bobInfo: ParticipantInfo = {
  identity: 'bob',
  sid: 'PA_bob',
  joinedAt: 0,
  permissions,
  tracks: [{ trackId: 'TR_bob_mic', participantIdentity: 'bob', kind: 'audio', source: 'microphone', muted: false }],
};

function setup(open = true) {
  const sent: ClientMessage[] = [];
  const events: unknown[][] = [];
  const removed: [string, string][] = [];
  const participants = new Map([['bob', new RemoteParticipant(bobInfo)]]);
  const track = { enabled: true } as MediaStreamTrack;
  const locals = new Map<string, LocalTrack>();
  const moderation = new Moderation(me, 1000, {
    send: (msg) => (open ? (sent.push(msg), true) : false),
    emit: (event, ...args) => events.push([event, ...args]),
    participants,
    localTrack: (trackId) => locals.get(trackId),
    localTrackRemoved: (trackId, reason) => removed.push([trackId, reason]),
  });
  const local = makeLocalTrack({ trackId: 'TR_my_cam', participantIdentity: 'me', kind: 'video', source: 'camera', muted: false }, '0', track, (trackId, muted) =>
    moderation.request({ type: 'muteTrack', trackId, muted }),
  );
  locals.set(local.trackId, local);
  return { moderation, sent, events, removed, participants, local, track };
}

test('a request carries a fresh requestId and resolves on its requestDone; an error with that id rejects it with the code', async () => {
  const { moderation, sent } = setup();
  const done = moderation.request({ type: 'removeParticipant', identity: 'bob' });
  const refused = moderation.request({ type: 'updateMetadata', metadata: 'x' });
  expect(sent).toEqual([
    { type: 'removeParticipant', identity: 'bob', requestId: 1 },
    { type: 'updateMetadata', metadata: 'x', requestId: 2 },
  ]);
  expect(moderation.handleError({ type: 'error', code: 'PERMISSION_DENIED', message: 'no', requestType: 'updateMetadata', requestId: 2 })).toBe(true);
  moderation.handle({ type: 'requestDone', requestId: 1 });
  await expect(done).resolves.toBeUndefined();
  await expect(refused).rejects.toMatchObject({ name: 'RequestError', code: 'PERMISSION_DENIED', requestType: 'updateMetadata' });
  // An error about another request (or none) is not this module's.
  expect(moderation.handleError({ type: 'error', code: 'RATE_LIMITED', message: 'slow down' })).toBe(false);
  expect(moderation.handleError({ type: 'error', code: 'X', message: 'late', requestId: 1 })).toBe(false);
});

test('a request fails at once on a closed socket, after the timeout, and when the room closes or a rejoin replaces the session', async () => {
  await expect(setup(false).moderation.request({ type: 'removeParticipant', identity: 'bob' })).rejects.toMatchObject({ code: 'CLIENT_CONNECTION_CLOSED' });
  vi.useFakeTimers();
  const { moderation } = setup();
  const late = moderation.request({ type: 'removeParticipant', identity: 'bob' });
  const expectation = expect(late).rejects.toMatchObject({ code: 'CLIENT_TIMEOUT' });
  vi.advanceTimersByTime(1001);
  await expectation;
  const pending = moderation.request({ type: 'removeParticipant', identity: 'bob' });
  moderation.reset({ ...me, permissions: { ...permissions, canPublish: false } });
  await expect(pending).rejects.toBeInstanceOf(RequestError);
  expect(moderation.local.permissions.canPublish).toBe(false);
});

test("participantUpdated updates this client's own info (live permissions) or a remote participant, each with its event", () => {
  const { moderation, events, participants } = setup();
  moderation.handle({ type: 'participantUpdated', participant: { ...me, metadata: '{"hand":true}', permissions: { ...permissions, canUpdateOwnMetadata: true } } });
  expect(moderation.local).toMatchObject({ metadata: '{"hand":true}', permissions: { canUpdateOwnMetadata: true } });
  moderation.handle({ type: 'participantUpdated', participant: { ...bobInfo, name: 'Bob', metadata: 'm', permissions: { ...permissions, canPublish: false } } });
  const bob = participants.get('bob')!;
  expect(bob).toMatchObject({ name: 'Bob', metadata: 'm', permissions: { canPublish: false } });
  expect(bob.tracks.size).toBe(1); // tracks come with their own events
  expect(events.map((e) => e[0])).toEqual(['localParticipantUpdated', 'participantUpdated']);
  // Someone not (or no longer) in the room: nothing.
  moderation.handle({ type: 'participantUpdated', participant: { ...bobInfo, identity: 'gone' } });
  expect(events).toHaveLength(2);
});

test("a moderator's mute disables this client's track; its own unmute enables it; a remote track's muted state follows trackMuted", async () => {
  const { moderation, events, local, track, participants, sent } = setup();
  moderation.handle({ type: 'trackMuted', trackId: 'TR_my_cam', participantIdentity: 'me', muted: true, by: 'teacher' });
  expect(track.enabled).toBe(false);
  expect(local.muted).toBe(true);
  moderation.handle({ type: 'unmuteRequested', trackId: 'TR_my_cam', by: 'teacher' });
  const unmuted = local.unmute();
  expect(track.enabled).toBe(true);
  expect(sent.at(-1)).toEqual({ type: 'muteTrack', trackId: 'TR_my_cam', muted: false, requestId: 1 });
  moderation.handle({ type: 'requestDone', requestId: 1 });
  await unmuted;
  expect(local.muted).toBe(false);
  moderation.handle({ type: 'trackMuted', trackId: 'TR_bob_mic', participantIdentity: 'bob', muted: true, by: 'teacher' });
  expect(participants.get('bob')!.tracks.get('TR_bob_mic')!.muted).toBe(true);
  expect(events).toEqual([
    ['localTrackMuted', 'TR_my_cam', true, 'teacher'],
    ['unmuteRequested', 'TR_my_cam', 'teacher'],
    ['trackMuted', participants.get('bob')!.tracks.get('TR_bob_mic'), participants.get('bob'), true, 'teacher'],
  ]);
});

test('only a trackUnpublished about its own track is handed to the SDK to stop sending it', () => {
  const { moderation, removed } = setup();
  expect(moderation.handleOwnUnpublish({ type: 'trackUnpublished', trackId: 'TR_bob_mic', participantIdentity: 'bob', reason: 'permission' }, 'me')).toBe(false);
  expect(moderation.handleOwnUnpublish({ type: 'trackUnpublished', trackId: 'TR_my_cam', participantIdentity: 'me', reason: 'permission' }, 'me')).toBe(true);
  expect(removed).toEqual([['TR_my_cam', 'permission']]);
});
