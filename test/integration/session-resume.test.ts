import { afterAll, beforeAll, expect, test } from 'vitest';
import type { RunningServer } from '../../server/app.js';
import { waitUntil } from '../helpers/bot.js';
import { metricTotal, startTestServer } from '../helpers/server.js';
import { joinRoom, SignalingClient, testToken } from '../helpers/signaling-client.js';

const GRACE_MS = 2000;

let server: RunningServer;
beforeAll(async () => {
  server = await startTestServer({ signaling: { resumeGraceMs: GRACE_MS, connectionBurstPerIp: 1000 } });
});
afterAll(async () => {
  await server?.close();
});

/** Frames a client read after `joined`, as the SDK counts them (`rtt` excepted). */
function readSinceJoined(client: SignalingClient): number {
  const joinedAt = client.messages.findIndex((m) => m.type === 'joined');
  return client.messages.slice(joinedAt + 1).filter((m) => m.type !== 'rtt').length;
}

test('a dropped socket is resumed on a new one: the participant never left, and what it missed is replayed', async () => {
  const alice = await joinRoom(server.signalingUrl, 'resume-1', 'alice');
  const bob = await joinRoom(server.signalingUrl, 'resume-1', 'bob');
  await alice.client.waitFor('participantJoined', (m) => m.participant.identity === 'bob');
  const grant = alice.joined.resume;
  expect(grant).toEqual({ token: expect.any(String), graceMs: GRACE_MS });
  for (const id of [1, 2]) {
    alice.client.send({ type: 'ping', id });
    await alice.client.waitFor('pong', (m) => m.id === id);
  }
  const read = readSinceJoined(alice.client);

  alice.client.socket.terminate(); // no close frame: the server keeps alice for the grace period
  await waitUntil(async () => (await metricTotal(server, 'tsfu_signaling_sessions_detached')) === 1, 5000, 'alice detached');
  const carol = await joinRoom(server.signalingUrl, 'resume-1', 'carol'); // alice misses this

  const resumed = await SignalingClient.connect(server.signalingUrl);
  resumed.send({ type: 'resume', token: grant!.token, lastReceived: read });
  const reply = await resumed.waitFor('resumed');
  expect(reply.lastReceived).toBe(2); // the two pings
  expect(resumed.messages[0].type).toBe('resumed');
  const replayed = await resumed.waitFor('participantJoined', (m) => m.participant.identity === 'carol');
  expect(replayed.participant.identity).toBe('carol');
  // Nothing alice had already read comes again.
  expect(resumed.messages.filter((m) => m.type === 'participantJoined' && m.participant.identity === 'bob')).toEqual([]);
  resumed.send({ type: 'ping', id: 3 });
  await resumed.waitFor('pong', (m) => m.id === 3);

  for (const other of [bob.client, carol.client]) expect(other.messages.filter((m) => m.type === 'participantLeft')).toEqual([]);
  expect(server.sfu.rooms.get('resume-1')?.participants.has('alice')).toBe(true);
  expect(await metricTotal(server, 'tsfu_signaling_resumes_total', 'outcome="resumed"')).toBe(1);
  expect(await metricTotal(server, 'tsfu_signaling_sessions_detached')).toBe(0);

  // The resumed socket is the session's now: closing it with a close frame is leaving.
  resumed.close();
  await bob.client.waitFor('participantLeft', (m) => m.identity === 'alice', 3000);
  bob.client.close();
  carol.client.close();
  await waitUntil(() => server.signaling.sessionCount === 0 && server.sfu.rooms.size === 0, 5000, 'room closed');
});

test('a resume takes over from a socket that is still open (a silent connection), which the server then drops', async () => {
  const alice = await joinRoom(server.signalingUrl, 'resume-2', 'alice');
  const bob = await joinRoom(server.signalingUrl, 'resume-2', 'bob');
  await alice.client.waitFor('participantJoined');
  const resumed = await SignalingClient.connect(server.signalingUrl);
  resumed.send({ type: 'resume', token: alice.joined.resume!.token, lastReceived: readSinceJoined(alice.client) });
  await resumed.waitFor('resumed');
  expect((await alice.client.closed).code).toBe(1006);
  resumed.send({ type: 'ping', id: 7 });
  await resumed.waitFor('pong', (m) => m.id === 7);
  expect(bob.client.messages.filter((m) => m.type === 'participantLeft')).toEqual([]);
  resumed.close();
  bob.client.close();
  await waitUntil(() => server.signaling.sessionCount === 0 && server.sfu.rooms.size === 0, 5000, 'room closed');
});

test('a resume the server cannot honour is refused with RESUME_FAILED, and the same socket may join instead', async () => {
  const alice = await joinRoom(server.signalingUrl, 'resume-3', 'alice');
  const token = alice.joined.resume!.token;
  const probe = await SignalingClient.connect(server.signalingUrl);
  expect((await probe.expectError({ type: 'resume', token: 'not-a-token', lastReceived: 0 })).code).toBe('RESUME_FAILED');
  // More frames than the session ever sent.
  expect((await probe.expectError({ type: 'resume', token, lastReceived: 10_000 })).code).toBe('RESUME_FAILED');
  expect((await probe.expectError({ type: 'resume', token, lastReceived: -1 })).code).toBe('SCHEMA_VIOLATION');
  // alice still holds her session: the refused resumes did not touch it.
  alice.client.send({ type: 'ping', id: 1 });
  await alice.client.waitFor('pong', (m) => m.id === 1);
  probe.send({ type: 'join', room: 'resume-3', token: await testToken({ room: 'resume-3', identity: 'bob' }) });
  await probe.waitFor('joined');
  // A joined socket cannot resume another session.
  expect((await probe.expectError({ type: 'resume', token, lastReceived: 0 })).code).toBe('ALREADY_JOINED');
  alice.client.close();
  probe.close();
  await waitUntil(() => server.signaling.sessionCount === 0 && server.sfu.rooms.size === 0, 5000, 'room closed');
  expect(await metricTotal(server, 'tsfu_signaling_resumes_total', 'outcome="failed"')).toBe(2);
});

test('a session not resumed within the grace period leaves then, and nothing is left; a close frame leaves at once', async () => {
  const alice = await joinRoom(server.signalingUrl, 'resume-4', 'alice');
  const bob = await joinRoom(server.signalingUrl, 'resume-4', 'bob');
  const dave = await joinRoom(server.signalingUrl, 'resume-4', 'dave');
  await bob.client.waitFor('participantJoined', (m) => m.participant.identity === 'dave');

  let started = performance.now();
  dave.client.close();
  await bob.client.waitFor('participantLeft', (m) => m.identity === 'dave', 3000);
  expect(performance.now() - started).toBeLessThan(GRACE_MS / 2);

  started = performance.now();
  alice.client.socket.terminate();
  const left = await bob.client.waitFor('participantLeft', (m) => m.identity === 'alice', GRACE_MS + 5000);
  expect(performance.now() - started).toBeGreaterThanOrEqual(GRACE_MS - 50);
  expect(left.reason).toBe('socket-lost');
  // Too late now.
  const late = await SignalingClient.connect(server.signalingUrl);
  expect((await late.expectError({ type: 'resume', token: alice.joined.resume!.token, lastReceived: 0 })).code).toBe('RESUME_FAILED');
  late.close();

  bob.client.socket.terminate();
  await waitUntil(() => server.signaling.sessionCount === 0 && server.sfu.rooms.size === 0, GRACE_MS + 5000, 'room closed after the grace');
  expect(await metricTotal(server, 'tsfu_signaling_sessions_detached')).toBe(0);
  expect(await metricTotal(server, 'tsfu_signaling_resumes_total', 'outcome="expired"')).toBe(2);
});
