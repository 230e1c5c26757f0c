import { SignJWT } from 'jose';
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { RunningServer } from '../../server/app.js';
import type { MintTokenOptions } from '../../signaling/tokens.js';
import { Bot, waitUntil } from '../helpers/bot.js';
import { metricTotal, startTestServer, TEST_KID, TEST_SECRET } from '../helpers/server.js';
import { JoinRefusedError, joinFollowingRedirects, SignalingClient, testToken } from '../helpers/signaling-client.js';

let server: RunningServer;
beforeAll(async () => {
  server = await startTestServer({ signaling: { resumeGraceMs: 5000, connectionBurstPerIp: 1000 } });
});
afterAll(async () => {
  await server?.close();
});

const TEACHER = { roomAdmin: true } satisfies MintTokenOptions['grants'];
type Reply = { type: string; requestId?: number; code?: string; requestType?: string; message?: string };
let nextRequestId = 1;

/** Sends a moderation request with a fresh requestId; resolves with its `requestDone` or `error` reply. */
async function request(bot: Bot | SignalingClient, message: Record<string, unknown>): Promise<Reply> {
  const client = bot instanceof Bot ? bot.signaling : bot;
  const requestId = nextRequestId++;
  client.send({ ...message, requestId });
  const reply = () => client.messages.find((m) => (m.type === 'requestDone' || m.type === 'error') && (m as Reply).requestId === requestId);
  await waitUntil(() => reply() !== undefined, 5000, `the reply to ${String(message.type)} #${requestId}`);
  return reply() as Reply;
}

async function join(room: string, identity: string, grants?: MintTokenOptions['grants'], extra: Partial<MintTokenOptions> = {}): Promise<Bot> {
  return Bot.join(server.signalingUrl, room, identity, undefined, { token: await testToken({ room, identity, grants, ...extra }) });
}

const packets = (bot: Bot, trackId: string) => bot.received.get(trackId)?.packets ?? 0;

/** Packets of `trackId` that reach `bot` in `ms` (after `settleMs` for those already on their way). */
async function packetsDuring(bot: Bot, trackId: string, ms: number, settleMs = 300): Promise<number> {
  await new Promise((r) => setTimeout(r, settleMs));
  const before = packets(bot, trackId);
  await new Promise((r) => setTimeout(r, ms));
  return packets(bot, trackId) - before;
}

function infoOf(room: string, identity: string) {
  return server.roomAdmin.listParticipants(room).find((p) => p.identity === identity);
}

test('a participant without roomAdmin is refused every moderation request, and nothing changes', async () => {
  const teacher = await join('mod-deny', 'teacher', TEACHER);
  const student = await join('mod-deny', 'student');
  const [, audio] = await teacher.publish();
  for (const message of [
    { type: 'muteParticipantTrack', identity: 'teacher', trackId: audio, muted: true },
    { type: 'removeParticipant', identity: 'teacher' },
    { type: 'updateParticipant', identity: 'teacher', metadata: 'hacked' },
    { type: 'updateParticipant', identity: 'student', permissions: { canUpdateOwnMetadata: true } },
    { type: 'updateMetadata', metadata: 'no grant for this' },
  ]) {
    const reply = await request(student, message);
    expect(reply, message.type).toMatchObject({ type: 'error', code: 'PERMISSION_DENIED', requestType: message.type });
  }
  expect(infoOf('mod-deny', 'teacher')).toMatchObject({ tracks: [{ muted: false }, { muted: false }] });
  expect(infoOf('mod-deny', 'teacher')?.metadata).toBeUndefined();
  expect(infoOf('mod-deny', 'student')?.permissions.canUpdateOwnMetadata).toBe(false);
  expect(teacher.signaling.messages.filter((m) => m.type === 'participantUpdated' || m.type === 'trackMuted' || m.type === 'leave')).toEqual([]);
  await Promise.all([teacher.close(), student.close()]);
});

test("an admin mutes a student's microphone: everyone is told, its RTP reaches nobody while the camera flows; the owner's unmute restores it", async () => {
  const teacher = await join('mod-mute', 'teacher', TEACHER);
  const student = await join('mod-mute', 'student');
  const peer = await join('mod-mute', 'peer');
  const [video, audio] = await student.publish({ videoKbps: 300 });
  await Promise.all([teacher.receivesTracks(2, 10), peer.receivesTracks(2, 10)]);

  expect(await request(teacher, { type: 'muteParticipantTrack', identity: 'student', trackId: audio, muted: true })).toMatchObject({ type: 'requestDone' });
  for (const bot of [teacher, student, peer]) {
    await bot.signaling.waitFor('trackMuted', (m) => m.trackId === audio && m.muted && m.by === 'teacher' && m.participantIdentity === 'student');
  }
  // Audio sends 50 packets a second: over a second, none of them (the few already on their way are left to settle).
  for (const bot of [teacher, peer]) expect(await packetsDuring(bot, audio, 1000)).toBe(0);
  expect(await packetsDuring(peer, video, 500, 0)).toBeGreaterThan(5);

  // A late joiner sees the track muted.
  const late = await join('mod-mute', 'late');
  const joined = late.signaling.messages.find((m) => m.type === 'joined') as { participants: { identity: string; tracks: { trackId: string; muted: boolean }[] }[] };
  expect(joined.participants.find((p) => p.identity === 'student')?.tracks.find((t) => t.trackId === audio)?.muted).toBe(true);

  // An unmute request reaches the owner only, and changes nothing by itself.
  expect(await request(teacher, { type: 'muteParticipantTrack', identity: 'student', trackId: audio, muted: false })).toMatchObject({ type: 'requestDone' });
  await student.signaling.waitFor('unmuteRequested', (m) => m.trackId === audio && m.by === 'teacher');
  expect(infoOf('mod-mute', 'student')?.tracks.find((t) => t.trackId === audio)?.muted).toBe(true);
  for (const bot of [teacher, peer, late]) expect(bot.signaling.messages.filter((m) => m.type === 'unmuteRequested')).toEqual([]);

  // The owner accepts: its own unmute (no `by`) and the packets flow again.
  expect(await request(student, { type: 'muteTrack', trackId: audio, muted: false })).toMatchObject({ type: 'requestDone' });
  for (const bot of [teacher, student, peer]) await bot.signaling.waitFor('trackMuted', (m) => m.trackId === audio && !m.muted && m.by === undefined);
  const resumedAt = packets(peer, audio);
  await waitUntil(() => packets(peer, audio) > resumedAt + 10, 5000, 'audio flowing again after the unmute');

  // Video: muted, then unmuted by its owner, which asks the publisher for a key frame at once.
  expect(await request(teacher, { type: 'muteParticipantTrack', identity: 'student', trackId: video, muted: true })).toMatchObject({ type: 'requestDone' });
  await peer.signaling.waitFor('trackMuted', (m) => m.trackId === video && m.muted);
  expect(await packetsDuring(peer, video, 1000)).toBe(0);
  const keyframeRequests = student.keyframeRequests;
  const videoBefore = packets(peer, video);
  expect(await request(student, { type: 'muteTrack', trackId: video, muted: false })).toMatchObject({ type: 'requestDone' });
  await waitUntil(() => student.keyframeRequests > keyframeRequests, 3000, 'a key frame request on unmute');
  await waitUntil(() => packets(peer, video) > videoBefore + 10, 5000, 'video flowing again after the unmute');
  expect(await metricTotal(server, 'tsfu_signaling_moderation_actions_total', 'action="mute"')).toBeGreaterThanOrEqual(2);
  await Promise.all([teacher, student, peer, late].map((b) => b.close()));
});

test('a removed participant is told leave "removed", closed with 4013, cannot resume, and the others see it leave as removed', async () => {
  const teacher = await join('mod-remove', 'teacher', TEACHER);
  const student = await join('mod-remove', 'student');
  await student.publish({ video: false });
  await teacher.receivesTracks(1, 5);
  const grant = (student.signaling.messages.find((m) => m.type === 'joined') as { resume?: { token: string } }).resume;
  expect(grant).toBeDefined();

  expect(await request(teacher, { type: 'removeParticipant', identity: 'student' })).toMatchObject({ type: 'requestDone' });
  await student.signaling.waitFor('leave', (m) => m.reason === 'removed');
  expect(await student.signaling.closed).toMatchObject({ code: 4013 });
  await teacher.signaling.waitFor('participantLeft', (m) => m.identity === 'student' && m.reason === 'removed');
  await teacher.signaling.waitFor('trackUnpublished', (m) => m.participantIdentity === 'student' && m.reason === 'removed');
  expect(server.sfu.findRoom('mod-remove')?.participants.has('student')).toBe(false);

  const again = await SignalingClient.connect(server.signalingUrl);
  const refused = await again.expectError({ type: 'resume', token: grant!.token, lastReceived: 0 });
  expect(refused.code).toBe('RESUME_FAILED');
  again.close();
  await Promise.all([teacher.close(), student.close()]);
});

test('canPublish granted live lets a student publish on the same session; revoked, its tracks are unpublished for everyone, itself included', async () => {
  const teacher = await join('mod-grant', 'teacher', TEACHER);
  const student = await join('mod-grant', 'student', { canPublish: false });
  await expect(student.publish()).rejects.toThrow(/PERMISSION_DENIED/);

  expect(await request(teacher, { type: 'updateParticipant', identity: 'student', permissions: { canPublish: true } })).toMatchObject({ type: 'requestDone' });
  for (const bot of [teacher, student]) await bot.signaling.waitFor('participantUpdated', (m) => m.participant.identity === 'student' && m.participant.permissions.canPublish);
  const tracks = await student.publish();
  await teacher.receivesTracks(2, 10);

  expect(await request(teacher, { type: 'updateParticipant', identity: 'student', permissions: { canPublish: false } })).toMatchObject({ type: 'requestDone' });
  for (const bot of [teacher, student]) {
    for (const trackId of tracks) await bot.signaling.waitFor('trackUnpublished', (m) => m.trackId === trackId && m.reason === 'permission');
  }
  expect(server.sfu.findRoom('mod-grant')?.participant('student')?.publishedTracks.size).toBe(0);
  const flowing = packets(teacher, tracks[0]);
  await new Promise((r) => setTimeout(r, 500));
  expect(packets(teacher, tracks[0]) - flowing).toBeLessThanOrEqual(15); // at most what was on its way
  await expect(student.publish()).rejects.toThrow(/PERMISSION_DENIED/);
  await Promise.all([teacher.close(), student.close()]);
});

test('canPublishSources ["microphone"] refuses a camera and takes a microphone; narrowed further, the microphone is unpublished', async () => {
  const teacher = await join('mod-sources', 'teacher', TEACHER);
  const student = await join('mod-sources', 'student', { canPublishSources: ['microphone'] });
  await expect(student.publish()).rejects.toThrow(/PERMISSION_DENIED.*camera/);
  const [microphone] = await student.publish({ video: false });
  await teacher.receivesTracks(1, 10);
  expect(await request(teacher, { type: 'updateParticipant', identity: 'student', permissions: { canPublishSources: ['camera'] } })).toMatchObject({ type: 'requestDone' });
  await student.signaling.waitFor('trackUnpublished', (m) => m.trackId === microphone && m.reason === 'permission');
  const updated = await teacher.signaling.waitFor('participantUpdated', (m) => m.participant.identity === 'student');
  expect(updated.participant.permissions.canPublishSources).toEqual(['camera']);
  await Promise.all([teacher.close(), student.close()]);
});

test('a hidden observer is in nobody else’s snapshot or events, cannot publish, but receives media and sends data', async () => {
  const teacher = await join('mod-hidden', 'teacher', TEACHER);
  await teacher.publish({ videoKbps: 300 });
  const observer = await join('mod-hidden', 'observer', { hidden: true });
  await observer.receivesTracks(2, 10);
  await expect(observer.publish()).rejects.toThrow(/PERMISSION_DENIED/);
  const student = await join('mod-hidden', 'student');
  const joined = student.signaling.messages.find((m) => m.type === 'joined') as { participants: { identity: string }[] };
  expect(joined.participants.map((p) => p.identity)).toEqual(['teacher']);
  await Promise.all([observer.dataReady(), teacher.dataReady()]);
  observer.sendData('seen by a recorder');
  await waitUntil(() => teacher.data.some((d) => d.from === 'observer'), 5000, 'data from the observer');
  expect(infoOf('mod-hidden', 'observer')).toMatchObject({ hidden: true });
  await observer.close();
  await waitUntil(() => !server.sfu.findRoom('mod-hidden')?.participants.has('observer'), 5000, 'the observer gone');
  // Its leave is no more told than its join was (the student's leave below proves the teacher still gets events).
  await student.close();
  await teacher.signaling.waitFor('participantLeft', (m) => m.identity === 'student');
  for (const bot of [teacher, student]) {
    expect(bot.signaling.messages.filter((m) => JSON.stringify(m).includes('"observer"') && m.type !== 'error')).toEqual([]);
  }
  await teacher.close();
});

test('roomCreate false: ROOM_NOT_FOUND (close 4014) until the teacher has opened the room, and no lease is left behind', async () => {
  const token = await testToken({ room: 'mod-create', identity: 'student', grants: { roomCreate: false } });
  const early = await SignalingClient.connect(server.signalingUrl);
  early.send({ type: 'join', room: 'mod-create', token });
  expect(await early.waitFor('error')).toMatchObject({ code: 'ROOM_NOT_FOUND' });
  expect((await early.closed).code).toBe(4014);
  expect(server.sfu.findRoom('mod-create')).toBeUndefined();
  await waitUntil(() => !server.cluster.cluster.localRooms.has('mod-create'), 2000, 'the lease released');

  const teacher = await join('mod-create', 'teacher', TEACHER);
  const { client } = await joinFollowingRedirects(server.signalingUrl, 'mod-create', token);
  const student = Bot.attach('student', client);
  await teacher.signaling.waitFor('participantJoined', (m) => m.participant.identity === 'student');
  await Promise.all([teacher.close(), student.close()]);
  await expect(joinFollowingRedirects(server.signalingUrl, 'mod-create', token)).rejects.toThrow(JoinRefusedError);
});

test("metadata: the token's in snapshots; own updates with canUpdateOwnMetadata reach everyone and later joiners; refused without", async () => {
  const teacher = await join('mod-meta', 'teacher', TEACHER);
  const ann = await join('mod-meta', 'ann', { canUpdateOwnMetadata: true }, { metadata: '{"hand":false}', name: 'Ann' });
  const bob = await join('mod-meta', 'bob');
  const bobJoined = bob.signaling.messages.find((m) => m.type === 'joined') as { participants: { identity: string; metadata?: string }[] };
  expect(bobJoined.participants.find((p) => p.identity === 'ann')?.metadata).toBe('{"hand":false}');

  expect(await request(ann, { type: 'updateMetadata', metadata: '{"hand":true}', name: 'Ann B.' })).toMatchObject({ type: 'requestDone' });
  for (const bot of [teacher, ann, bob]) {
    await bot.signaling.waitFor('participantUpdated', (m) => m.participant.identity === 'ann' && m.participant.metadata === '{"hand":true}' && m.participant.name === 'Ann B.');
  }
  expect(await request(bob, { type: 'updateMetadata', metadata: '{"hand":true}' })).toMatchObject({ code: 'PERMISSION_DENIED' });
  expect(await request(teacher, { type: 'updateParticipant', identity: 'bob', metadata: '{"group":2}' })).toMatchObject({ type: 'requestDone' });
  await ann.signaling.waitFor('participantUpdated', (m) => m.participant.identity === 'bob' && m.participant.metadata === '{"group":2}');

  const late = await join('mod-meta', 'late');
  const joined = late.signaling.messages.find((m) => m.type === 'joined') as { participants: { identity: string; metadata?: string; name?: string }[] };
  expect(joined.participants.find((p) => p.identity === 'ann')).toMatchObject({ metadata: '{"hand":true}', name: 'Ann B.' });
  expect(joined.participants.find((p) => p.identity === 'bob')).toMatchObject({ metadata: '{"group":2}' });
  await Promise.all([teacher, ann, bob, late].map((b) => b.close()));
});

test('a token without the new grants (older tokens) still joins, may create the room, and publishes', async () => {
  const oldToken = await new SignJWT({ room: 'mod-old', grants: { canPublish: true, canSubscribe: true, canPublishData: true } })
    .setProtectedHeader({ alg: 'HS256', kid: TEST_KID })
    .setSubject('old')
    .setExpirationTime(Math.floor(Date.now() / 1000) + 600)
    .sign(new TextEncoder().encode(TEST_SECRET));
  const { client, joined } = await joinFollowingRedirects(server.signalingUrl, 'mod-old', oldToken);
  expect(joined.participant.permissions).toEqual({ canPublish: true, canSubscribe: true, canPublishData: true, canUpdateOwnMetadata: false, roomAdmin: false });
  const old = Bot.attach('old', client);
  const other = await join('mod-old', 'other');
  await old.publish();
  await other.receivesTracks(2, 10);
  await Promise.all([old.close(), other.close()]);
});

test('garbage moderation requests get clear errors, and the session and server carry on', async () => {
  const teacher = await join('mod-garbage', 'teacher', TEACHER);
  const student = await join('mod-garbage', 'student');
  const [, audio] = await student.publish();
  const cases: [Record<string, unknown>, string][] = [
    [{ type: 'muteParticipantTrack', identity: 'nobody', trackId: audio, muted: true }, 'PARTICIPANT_NOT_FOUND'],
    [{ type: 'muteParticipantTrack', identity: 'student', trackId: 'TR_none', muted: true }, 'TRACK_NOT_FOUND'],
    [{ type: 'removeParticipant', identity: 'nobody' }, 'PARTICIPANT_NOT_FOUND'],
    [{ type: 'updateParticipant', identity: 'nobody', metadata: 'x' }, 'PARTICIPANT_NOT_FOUND'],
    [{ type: 'muteTrack', trackId: audio, muted: true }, 'TRACK_NOT_FOUND'], // not the teacher's own track
  ];
  for (const [message, code] of cases) expect(await request(teacher, message), JSON.stringify(message)).toMatchObject({ type: 'error', code, requestType: message.type });
  // Schema violations are refused before any handler runs (no requestId can be trusted from a malformed request).
  for (const message of [
    { type: 'updateParticipant', identity: 'student', metadata: 'x'.repeat(16_385) },
    { type: 'updateParticipant', identity: 'student', permissions: { roomAdmin: true } },
    { type: 'updateParticipant', identity: 'student', permissions: { hidden: true } },
    { type: 'updateParticipant', identity: 'student', permissions: { canPublishSources: ['webcam'] } },
    { type: 'removeParticipant', identity: '' },
    { type: 'muteTrack', trackId: audio, muted: 'yes' },
    { type: 'muteParticipantTrack', identity: 'student', trackId: audio, muted: true, requestId: -1 },
  ]) {
    expect(await teacher.signaling.expectError(message), JSON.stringify(message).slice(0, 100)).toMatchObject({ code: 'SCHEMA_VIOLATION', requestType: message.type });
  }
  // The API's entry points refuse the same input with the same codes.
  const admin = server.roomAdmin;
  expect(() => admin.listParticipants('no-such-room')).toThrow(expect.objectContaining({ code: 'ROOM_NOT_FOUND' }));
  expect(() => admin.updateParticipant('mod-garbage', 'student', { permissions: { roomAdmin: true } as never })).toThrow(expect.objectContaining({ code: 'SCHEMA_VIOLATION' }));
  expect(() => admin.muteTrack('mod-garbage', 'student', 'TR_none', true)).toThrow(expect.objectContaining({ code: 'TRACK_NOT_FOUND' }));
  expect(() => admin.removeParticipant('mod-garbage', 'nobody')).toThrow(expect.objectContaining({ code: 'PARTICIPANT_NOT_FOUND' }));
  // Nothing changed, and both sessions still work.
  expect(infoOf('mod-garbage', 'student')).toMatchObject({ permissions: { roomAdmin: false }, tracks: [{ muted: false }, { muted: false }] });
  expect(infoOf('mod-garbage', 'student')?.metadata).toBeUndefined();
  expect(await request(teacher, { type: 'muteParticipantTrack', identity: 'student', trackId: audio, muted: true })).toMatchObject({ type: 'requestDone' });
  student.signaling.send({ type: 'ping', id: 7 });
  await student.signaling.waitFor('pong', (m) => m.id === 7);
  await Promise.all([teacher.close(), student.close()]);
});

test('once everyone has left, no room, participant, track, session or lease is left', async () => {
  await waitUntil(() => server.sfu.rooms.size === 0 && server.signaling.sessionCount === 0 && server.signaling.joinedCount === 0, 10_000, 'every room closed');
  expect(server.sfu.dump()).toEqual({ rooms: [], participants: 0, publishedTracks: 0, downTracks: 0, peerConnections: 0 });
  await waitUntil(() => server.cluster.cluster.localRooms.size === 0, 2000, 'every lease released');
});
