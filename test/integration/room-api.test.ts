import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { mintAdminToken } from '../../server/admin-token.js';
import type { RunningServer } from '../../server/app.js';
import { mintApiToken, type ApiGrants } from '../../server/room-api/api-token.js';
import { RoomServiceClient } from '../../server/room-api/room-service-client.js';
import { Bot, waitUntil } from '../helpers/bot.js';
import { metricTotal, startTestServer, TEST_KID, TEST_SECRET } from '../helpers/server.js';
import { JoinRefusedError, joinFollowingRedirects, testToken } from '../helpers/signaling-client.js';

let server: RunningServer;
let client: RoomServiceClient;
const bots: Bot[] = [];

beforeAll(async () => {
  server = await startTestServer();
  client = new RoomServiceClient(server.url, TEST_KID, TEST_SECRET);
});
afterAll(async () => {
  await Promise.all(bots.map((bot) => bot.close()));
  await server?.close();
});

const token = (grants: Partial<ApiGrants>, extra: { ttlSeconds?: number; now?: number; secret?: string; apiKey?: string; subject?: string } = {}) =>
  mintApiToken({ apiKey: extra.apiKey ?? TEST_KID, secret: extra.secret ?? TEST_SECRET, grants, ttlSeconds: extra.ttlSeconds, now: extra.now, subject: extra.subject });

async function call(method: string, path: string, auth: string | undefined, body?: unknown) {
  const response = await fetch(`${server.url}/api/v1${path}`, {
    method,
    headers: { ...(auth ? { authorization: `Bearer ${auth}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: (text ? JSON.parse(text) : undefined) as Record<string, unknown> & { code?: string; message?: string } };
}

async function join(room: string, identity: string, grants?: Parameters<typeof Bot.join>[3]): Promise<Bot> {
  const bot = await Bot.join(server.signalingUrl, room, identity, grants);
  bots.push(bot);
  return bot;
}

/** Every room, participant, lease, record and timer is gone. */
async function nothingLeftOf(room: string): Promise<void> {
  await waitUntil(() => !server.sfu.findRoom(room) && !server.roomRegistry.get(room) && !server.cluster.cluster.localRooms.has(room), 5000, `room ${room} to be gone`);
}

describe('authentication', () => {
  test('requests without a valid API token for the operation are refused with 401 or 403 and change nothing', async () => {
    const body = { name: 'auth-room' };
    const cases: [string, string | undefined, number, RegExp][] = [
      ['no token', undefined, 401, /Authorization: Bearer/],
      ['a join token', await testToken({ room: 'auth-room', identity: 'mallory' }), 403, /not an API token/],
      ['an admin token', await mintAdminToken({ kid: TEST_KID, secret: TEST_SECRET, operator: 'op', grants: { drain: true } }), 403, /not an API token/],
      ['an expired token', await token({ roomCreate: true }, { now: Date.now() - 3600_000 }), 401, /expired/],
      ['a forged token', await token({ roomCreate: true }, { secret: 'not-the-secret-not-the-secret-not-the-secret' }), 401, /signature/],
      ['an unknown key', await token({ roomCreate: true }, { apiKey: 'nobody' }), 401, /unknown key id "nobody"/],
      ['a token living too long', await token({ roomCreate: true }, { ttlSeconds: 3600 }), 401, /at most 600 s/],
      ['a token without roomCreate', await token({ roomList: true, roomAdmin: true }), 403, /does not grant "roomCreate"/],
      ['roomCreate for another room', await token({ roomCreate: true, room: 'other' }), 403, /for room "other"/],
    ];
    for (const [what, auth, status, message] of cases) {
      const reply = await call('POST', '/rooms', auth, body);
      expect(reply.status, what).toBe(status);
      expect(reply.body.code, what).toBe(status === 401 ? 'UNAUTHORIZED' : 'FORBIDDEN');
      expect(reply.body.message, what).toMatch(message);
    }
    expect(server.roomRegistry.get('auth-room')).toBeUndefined();
    expect(await metricTotal(server, 'tsfu_room_api_requests_total', 'status="401"')).toBeGreaterThanOrEqual(5);

    await client.createRoom('scoped', { metadata: 'before' });
    const otherRoomAdmin = await token({ roomAdmin: true, room: 'elsewhere' });
    expect((await call('PATCH', '/rooms/scoped', otherRoomAdmin, { metadata: 'after' })).status).toBe(403);
    expect((await call('GET', '/rooms/scoped/participants', otherRoomAdmin)).status).toBe(403);
    expect((await call('DELETE', '/rooms/scoped', await token({ roomAdmin: true, room: 'scoped' }))).body.code).toBe('FORBIDDEN');
    expect((await call('GET', '/rooms', await token({ roomAdmin: true }))).status).toBe(403);
    expect((await client.getRoom('scoped')).metadata).toBe('before');
    // The token for that room does what it grants.
    expect((await call('PATCH', '/rooms/scoped', await token({ roomAdmin: true, room: 'scoped' }), { metadata: 'after' })).body.metadata).toBe('after');
    await client.deleteRoom('scoped');
  });
});

describe('rooms', () => {
  test('a created room takes maxParticipants, refuses the next join with ROOM_FULL, and a second create changes nothing', async () => {
    const created = await call('POST', '/rooms', await token({ roomCreate: true }), { name: 'small 🎓', maxParticipants: 2, metadata: 'lesson 1' });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: 'small 🎓', maxParticipants: 2, emptyTimeoutSeconds: 300, metadata: 'lesson 1', numParticipants: 0, nodeId: server.cluster.identity.nodeId });
    const again = await call('POST', '/rooms', await token({ roomCreate: true }), { name: 'small 🎓', maxParticipants: 50, metadata: 'other' });
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ maxParticipants: 2, metadata: 'lesson 1', createdAt: created.body.createdAt });

    await join('small 🎓', 'alice');
    await join('small 🎓', 'bob');
    const third = await joinFollowingRedirects(server.signalingUrl, 'small 🎓', await testToken({ room: 'small 🎓', identity: 'carol' })).catch((error: unknown) => error);
    expect(third).toBeInstanceOf(JoinRefusedError);
    expect((third as JoinRefusedError).code).toBe('ROOM_FULL');
    expect((await client.getRoom('small 🎓')).numParticipants).toBe(2);
    await client.deleteRoom('small 🎓');
    await nothingLeftOf('small 🎓');
  });

  test('a created room nobody joins closes after its empty timeout, and so does one its participants left', async () => {
    await client.createRoom('unused', { emptyTimeoutSeconds: 1 });
    expect((await client.listRooms()).map((r) => r.name)).toContain('unused');
    expect(server.cluster.cluster.localRooms.has('unused')).toBe(true);
    await nothingLeftOf('unused');
    expect((await client.listRooms()).map((r) => r.name)).not.toContain('unused');
    expect(server.roomRegistry.emptyTimers).toBe(0);

    await client.createRoom('brief', { emptyTimeoutSeconds: 1 });
    const bot = await join('brief', 'dora');
    // Longer than the timeout: someone is in the room, so it stays.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(server.roomRegistry.get('brief')).toBeDefined();
    await bot.close();
    await waitUntil(() => !server.sfu.findRoom('brief'), 5000, 'the participant to be gone');
    // Empty now, but kept for its timeout: a join in that time finds the same room.
    expect(server.roomRegistry.get('brief')).toBeDefined();
    await nothingLeftOf('brief');
  });

  test('a room created by a join is listed, with its participants and their tracks, and is gone when they leave', async () => {
    const alice = await join('joined-room', 'alice');
    const bob = await join('joined-room', 'bob');
    const tracks = await alice.publish({ video: true, audio: true });
    const rooms = await client.listRooms();
    expect(rooms.find((r) => r.name === 'joined-room')).toMatchObject({ numParticipants: 2, maxParticipants: 0, emptyTimeoutSeconds: 0, metadata: '' });
    const participants = await client.listParticipants('joined-room');
    expect(participants.map((p) => p.identity).sort()).toEqual(['alice', 'bob']);
    expect(participants.find((p) => p.identity === 'alice')!.tracks.map((t) => t.trackId).sort()).toEqual([...tracks].sort());
    // roomList also reads any room's participants.
    expect((await call('GET', '/rooms/joined-room/participants', await token({ roomList: true }))).status).toBe(200);
    await alice.close();
    await bob.close();
    await nothingLeftOf('joined-room');
    expect((await call('GET', '/rooms/joined-room/participants', await token({ roomList: true }))).body.code).toBe('ROOM_NOT_FOUND');
  });

  test('deleting a room tells everyone (leave room-deleted, close 4015) and leaves nothing behind', async () => {
    await client.createRoom('doomed');
    const alice = await join('doomed', 'alice');
    const bob = await join('doomed', 'bob');
    await client.deleteRoom('doomed');
    for (const bot of [alice, bob]) {
      expect(await bot.signaling.waitFor('leave')).toMatchObject({ reason: 'room-deleted' });
      expect((await bot.signaling.closed).code).toBe(4015);
    }
    await nothingLeftOf('doomed');
    expect((await client.listRooms()).map((r) => r.name)).not.toContain('doomed');
    expect((await call('DELETE', '/rooms/doomed', await token({ roomCreate: true }))).status).toBe(404);
  });

  test('room metadata reaches the participants as roomUpdated and late joiners in joined', async () => {
    await client.createRoom('meta', { metadata: 'v1' });
    const early = await join('meta', 'early');
    expect(early.signaling.messages.find((m) => m.type === 'joined')).toMatchObject({ room: { metadata: 'v1' } });
    const updated = await client.updateRoomMetadata('meta', '{"topic":"fractions"}');
    expect(updated.metadata).toBe('{"topic":"fractions"}');
    expect(await early.signaling.waitFor('roomUpdated')).toMatchObject({ metadata: '{"topic":"fractions"}' });
    const late = await join('meta', 'late');
    expect(late.signaling.messages.find((m) => m.type === 'joined')).toMatchObject({ room: { metadata: '{"topic":"fractions"}' } });
    // A room without metadata: `room` is empty.
    const plain = await join('plain', 'someone');
    expect(plain.signaling.messages.find((m) => m.type === 'joined')).toMatchObject({ room: {} });
    await client.deleteRoom('meta');
    await client.deleteRoom('plain');
  });

  test('data from the server reaches the room, or only the identities named, over the data channels', async () => {
    const alice = await join('data-room', 'alice');
    const bob = await join('data-room', 'bob');
    await Promise.all([alice.dataReady(), bob.dataReady()]);
    expect(await client.sendData('data-room', 'hello all', { topic: 'announce' })).toBe(2);
    await waitUntil(() => alice.data.length === 1 && bob.data.length === 1, 5000, 'the message to both');
    expect(alice.data[0]).toMatchObject({ from: '', text: 'hello all', topic: 'announce', reliable: true });
    expect(await client.sendData('data-room', new TextEncoder().encode('just bob'), { destinationIdentities: ['bob', 'nobody'], reliable: false })).toBe(1);
    await waitUntil(() => bob.data.length === 2, 5000, 'the message to bob');
    expect(bob.data[1]).toMatchObject({ from: '', text: 'just bob', reliable: false });
    // Longer than the message to bob took: alice was not sent it.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(alice.data).toHaveLength(1);
    const tooLarge = await call('POST', '/rooms/data-room/data', await token({ roomAdmin: true }), { payload: 'x'.repeat(server.sfu.options.maxDataMessageBytes + 1) });
    expect(tooLarge).toMatchObject({ status: 413, body: { code: 'DATA_TOO_LARGE' } });
    await client.deleteRoom('data-room');
  });

  test('bad requests get 400 with what is wrong, and unknown rooms 404', async () => {
    const admin = await token({ roomCreate: true, roomAdmin: true, roomList: true });
    const cases: [string, string, unknown, RegExp][] = [
      ['POST', '/rooms', { name: '' }, /name/],
      ['POST', '/rooms', { name: 'r', maxParticipants: 'two' }, /maxParticipants/],
      ['POST', '/rooms', { name: 'r', emptyTimeoutSeconds: 0 }, /emptyTimeoutSeconds/],
      ['POST', '/rooms', { name: 'r', colour: 'red' }, /colour|additional|Unexpected property/i],
      ['POST', '/rooms', { name: 'x'.repeat(129) }, /name/],
      ['POST', '/rooms', '{not json', /JSON/i],
      ['POST', '/rooms', undefined, /Expected object/],
      ['PATCH', '/rooms/r', { metadata: 7 }, /metadata/],
      ['PATCH', '/rooms/r', { metadata: 'x'.repeat(16385) }, /metadata/],
      ['POST', '/rooms/r/data', { payload: 'hi', encoding: 'hex' }, /encoding/],
      ['POST', '/rooms/r/data', { payload: 'hi', destinationIdentities: [] }, /destinationIdentities/],
    ];
    for (const [method, path, body, message] of cases) {
      const reply = await call(method, path, admin, body);
      expect(reply.status, `${method} ${path} ${JSON.stringify(body)}`).toBe(400);
      expect(reply.body.message, `${method} ${path}`).toMatch(message);
      expect(reply.body.code).toBeTypeOf('string');
    }
    expect(server.roomRegistry.get('r')).toBeUndefined();
    await client.createRoom('r');
    expect((await call('POST', '/rooms/r/data', admin, { payload: 'not base64!', encoding: 'base64' })).body).toMatchObject({ code: 'SCHEMA_VIOLATION', message: expect.stringMatching(/base64/) });
    expect(await call('PUT', '/rooms/r', admin, {})).toMatchObject({ status: 404, body: { code: 'NOT_FOUND' } });
    for (const [method, path, body] of [['GET', '/rooms/none/participants'], ['PATCH', '/rooms/none', { metadata: '' }], ['DELETE', '/rooms/none'], ['POST', '/rooms/none/data', { payload: 'x' }]] as const) {
      expect(await call(method, path, admin, body)).toMatchObject({ status: 404, body: { code: 'ROOM_NOT_FOUND' } });
    }
    await client.deleteRoom('r');
    await nothingLeftOf('r');
    // The longest room name, every character 4 bytes of UTF-8, fits in a path.
    const longest = '🎓'.repeat(64);
    expect(longest.length).toBe(128);
    await client.createRoom(longest);
    expect((await client.getRoom(longest)).name).toBe(longest);
    await client.deleteRoom(longest);
  });
});

describe('participants', () => {
  test('an operator mutes, updates and removes a participant through the API, with the rules of a teacher in the room', async () => {
    await client.createRoom('class');
    const teacher = await join('class', 'teacher');
    // A student may not create rooms, but joins a room created over the API before anyone is in it.
    const student = await join('class', 'student', { roomCreate: false, canUpdateOwnMetadata: false });
    const [, audio] = await student.publish({ video: true, audio: true });
    const ops = await token({ roomAdmin: true, room: 'class' }, { subject: 'ops' });

    const listed = (await call('GET', '/rooms/class/participants', ops)).body.participants as { identity: string; permissions: Record<string, unknown> }[];
    expect(listed.find((p) => p.identity === 'student')?.permissions).toMatchObject({ canPublish: true, roomAdmin: false });

    const muted = await call('POST', `/rooms/class/participants/student/tracks/${encodeURIComponent(audio)}/mute`, ops, { muted: true });
    expect(muted).toMatchObject({ status: 200, body: { track: { trackId: audio, muted: true } } });
    for (const bot of [teacher, student]) expect(await bot.signaling.waitFor('trackMuted')).toMatchObject({ trackId: audio, participantIdentity: 'student', muted: true, by: 'ops' });

    const updated = await call('PATCH', '/rooms/class/participants/student', ops, { metadata: 'hand up', name: 'Stu', permissions: { canPublishData: false } });
    expect(updated.body.participant).toMatchObject({ identity: 'student', name: 'Stu', metadata: 'hand up', permissions: { canPublishData: false } });
    expect(await teacher.signaling.waitFor('participantUpdated')).toMatchObject({ participant: { identity: 'student', metadata: 'hand up' } });
    // roomAdmin and hidden are the token's: not for the API to change.
    expect((await call('PATCH', '/rooms/class/participants/student', ops, { permissions: { roomAdmin: true } })).body.code).toBe('SCHEMA_VIOLATION');
    expect(await call('DELETE', '/rooms/class/participants/nobody', ops)).toMatchObject({ status: 404, body: { code: 'PARTICIPANT_NOT_FOUND' } });
    expect(await call('POST', '/rooms/class/participants/student/tracks/TR_none/mute', ops, { muted: true })).toMatchObject({ status: 404, body: { code: 'TRACK_NOT_FOUND' } });
    expect((await call('DELETE', '/rooms/class/participants/student', await token({ roomAdmin: true, room: 'other' }))).status).toBe(403);

    expect((await call('DELETE', '/rooms/class/participants/student', ops)).status).toBe(204);
    expect(await student.signaling.waitFor('leave')).toMatchObject({ reason: 'removed' });
    expect((await student.signaling.closed).code).toBe(4013);
    expect(await teacher.signaling.waitFor('participantLeft')).toMatchObject({ identity: 'student', reason: 'removed' });
    expect((await client.listParticipants('class')).map((p) => p.identity)).toEqual(['teacher']);
    await client.deleteRoom('class');
    await nothingLeftOf('class');
  });
});
