import { afterAll, beforeAll, expect, test } from 'vitest';
import type { RunningServer } from '../../server/app.js';
import { assertClientBuilt, BrowserParticipant, eventually } from '../helpers/browser-participant.js';
import { launchChromium, type LaunchedChromium } from '../helpers/chromium.js';
import { reportMeasurement } from '../helpers/bench-report.js';
import { startTestServer } from '../helpers/server.js';
import { joinRoom } from '../helpers/signaling-client.js';
import { TcpCutProxy } from '../helpers/tcp-cut-proxy.js';

/*
 * A teacher and a student in Chromium, their signaling through a TCP proxy the test can cut (as Wi-Fi drops do),
 * their media straight to the SFU. When the signaling connections drop, the SDK resumes the sessions: media never
 * stops, nobody leaves, nothing is published or subscribed again.
 */
const CUT_MS = 3000;
let server: RunningServer;
let proxy: TcpCutProxy;
let browser: LaunchedChromium;
const people: BrowserParticipant[] = [];

beforeAll(async () => {
  assertClientBuilt();
  server = await startTestServer();
  proxy = await TcpCutProxy.start(Number(new URL(server.url).port));
  browser = await launchChromium();
});
afterAll(async () => {
  for (const p of people) await p.close().catch(() => undefined);
  await browser?.close();
  await proxy?.close();
  await server?.close();
});

/** Frames the student has decoded from the teacher, sampled every 100 ms while `during` runs; the longest stretch without a new one. */
async function longestStall(student: BrowserParticipant, during: Promise<unknown>): Promise<number> {
  let done = false;
  void during.finally(() => (done = true));
  let last = -1;
  let lastChangeAt = performance.now();
  let longest = 0;
  while (!done) {
    const video = (await student.inbound()).find((s) => s.kind === 'video');
    const now = performance.now();
    if (video && video.framesDecoded !== last) {
      longest = Math.max(longest, now - lastChangeAt);
      last = video.framesDecoded;
      lastChangeAt = now;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return Math.max(longest, performance.now() - lastChangeAt);
}

test(`signaling cut for ${CUT_MS / 1000} s: the sessions are resumed, video never stops and nobody leaves`, async () => {
  const proxied = { url: server.url, signalingUrl: `ws://127.0.0.1:${proxy.port}/v1/rtc` };
  const teacher = await BrowserParticipant.join(browser, proxied, 'resume', 'teacher', { width: 640, height: 360 });
  const student = await BrowserParticipant.join(browser, proxied, 'resume', 'student', { video: false, audio: false });
  people.push(teacher, student);
  await eventually(() => student.inbound(), (v) => v.some((s) => s.kind === 'video' && s.framesDecoded > 30), 30_000, 'the student decoding the teacher');
  const subscribed = (await student.events('trackSubscribed')).length;

  const cut = (async () => {
    proxy.reset(CUT_MS);
    await eventually(() => student.events('reconnected'), (e) => e.length === 1, CUT_MS + 15_000, 'the student resumed');
    await eventually(() => teacher.events('reconnected'), (e) => e.length === 1, 15_000, 'the teacher resumed');
  })();
  const stallMs = await longestStall(student, cut);
  await cut;

  for (const person of [teacher, student]) {
    const [reconnecting] = await person.events<{ code: number; at: number }>('reconnecting');
    const [reconnected] = await person.events<{ at: number }>('reconnected');
    expect(reconnecting.code, `${person.identity}: the socket dropped`).toBe(1006);
    expect(await person.events('disconnected')).toEqual([]);
    expect(await person.events('participantLeft')).toEqual([]);
    console.info(`${person.identity}: socket dropped, resumed ${reconnected.at - reconnecting.at} ms later`);
  }
  // `npm run bench:cluster` collects these.
  reportMeasurement('resume_media_gap_ms', Math.round(stallMs));
  const [studentLost] = await student.events<{ at: number }>('reconnecting');
  const [studentBack] = await student.events<{ at: number }>('reconnected');
  reportMeasurement('resume_after_cut_ms', studentBack.at - studentLost.at - CUT_MS);
  // Still the first subscription, never torn down.
  expect(await student.events('trackSubscribed')).toHaveLength(subscribed);
  expect(await student.events('trackUnsubscribed')).toEqual([]);
  // Frames at 30 fps arrive every ~33 ms; a stall of a second would be a frozen picture.
  expect(stallMs).toBeLessThan(1000);
  expect(server.signaling.joinedCount).toBe(2);

  // Signaling works again: a newcomer is announced to both.
  const observer = await joinRoom(server.signalingUrl, 'resume', 'observer', { canPublish: false, canSubscribe: false, canPublishData: false });
  for (const person of [teacher, student]) {
    await eventually(() => person.events<{ identity: string }>('participantJoined'), (e) => e.some((p) => p.identity === 'observer'), 10_000, `${person.identity} told of the observer`);
  }
  observer.client.close();
});

test('signaling stalled long enough for the SDK to notice: it resumes on a new socket, and video never stops', async () => {
  const proxied = { url: server.url, signalingUrl: `ws://127.0.0.1:${proxy.port}/v1/rtc` };
  const teacher = await BrowserParticipant.join(browser, proxied, 'stall', 'teacher', { width: 640, height: 360 });
  const student = await BrowserParticipant.join(browser, proxied, 'stall', 'student', { video: false, audio: false });
  people.push(teacher, student);
  await eventually(() => student.inbound(), (v) => v.some((s) => s.kind === 'video' && s.framesDecoded > 30), 30_000, 'the student decoding the teacher');

  // Past the server's heartbeat interval (5 s) plus the SDK's margin and ping timeout (3 s): the SDK gives up on the socket.
  const STALL_MS = 10_000;
  const cut = (async () => {
    proxy.stall(STALL_MS);
    await eventually(() => student.events('reconnected'), (e) => e.length === 1, STALL_MS + 20_000, 'the student resumed');
  })();
  const stallMs = await longestStall(student, cut);
  await cut;
  const [reconnecting] = await student.events<{ code: number; at: number }>('reconnecting');
  const [reconnected] = await student.events<{ at: number }>('reconnected');
  console.info(`stalled socket: given up (code ${reconnecting.code}), resumed ${reconnected.at - reconnecting.at} ms later; longest video stall ${Math.round(stallMs)} ms`);
  expect(await student.events('disconnected')).toEqual([]);
  expect(await student.events('trackUnsubscribed')).toEqual([]);
  expect(stallMs).toBeLessThan(1000);
});

test('a rejoin after the token expired asks the application for a fresh one, and the lesson goes on', async () => {
  // A 2 s token (the server allows 5 s of clock skew): expired well before the rejoin below.
  const teacher = await BrowserParticipant.join(browser, server, 'refresh', 'teacher', { width: 320, height: 180, tokenTtlSeconds: 2, refreshToken: true });
  const student = await BrowserParticipant.join(browser, server, 'refresh', 'student', { video: false, audio: false });
  people.push(teacher, student);
  const [before] = (await eventually(() => student.inbound(), (v) => v.some((s) => s.kind === 'video' && s.framesDecoded > 10), 30_000, 'the student decoding the teacher')).filter((s) => s.kind === 'video');
  await new Promise((resolve) => setTimeout(resolve, 8000));
  // The room moves (as when its node lost the lease): everyone must join again, which needs a valid token.
  server.signaling.closeRoom('refresh');
  await eventually(() => teacher.events('reconnected'), (e) => e.length === 1, 30_000, 'the teacher joined again');
  expect(teacher.tokensRefreshed.count).toBeGreaterThanOrEqual(1);
  expect(await teacher.events('disconnected')).toEqual([]);
  await eventually(
    () => student.inbound(),
    (v) => v.some((s) => s.kind === 'video' && s.trackIdentifier !== before.trackIdentifier && s.framesDecoded > 0),
    30_000,
    'the student decoding the camera published again',
  );
});
