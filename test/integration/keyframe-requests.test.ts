import { afterAll, afterEach, beforeAll, expect, test } from 'vitest';
import type { RunningServer } from '../../server/app.js';
import { Bot, waitUntil } from '../helpers/bot.js';
import { startTestServer } from '../helpers/server.js';

/**
 * Key-frame requests (issue 7, defects 3 and 5): a renegotiation of a subscriber's connection must not make
 * the cameras it receives send key frames (only a new down track asks), and a new down track asks when it
 * can send, so the key frame is not thrown away before its DTLS is up.
 */
const PLI_MIN_INTERVAL_MS = 500;

let server: RunningServer;
const bots: Bot[] = [];
beforeAll(async () => {
  server = await startTestServer();
});
afterEach(async () => {
  for (const bot of bots.splice(0)) await bot.close();
});
afterAll(async () => {
  await server?.close();
});

/** PLIs sent for `reason`, or for every reason but 'loss' (the publisher NACK generator's, not a subscription's). */
async function plisSent(reason?: string): Promise<number> {
  const text = await server.registry.metrics();
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith('tsfu_sfu_plis_sent_total')) continue;
    if (reason === undefined ? !line.includes('reason="loss"') : line.includes(`reason="${reason}"`)) total += Number(line.split(' ').at(-1));
  }
  return total;
}

/** Whether the server has applied an answer that carries `trackId` on `identity`'s subscriber connection. */
function negotiatedOnServer(room: string, identity: string, trackId: string): boolean {
  const downTrack = server.sfu.findRoom(room)?.participant(identity)?.subscriber.downTracks.get(trackId);
  return downTrack?.isNegotiated === true;
}

async function join(room: string, identity: string): Promise<Bot> {
  const bot = await Bot.join(server.signalingUrl, room, identity);
  bots.push(bot);
  return bot;
}

test('20 joins in a row: at most one key-frame request per new subscription, none when existing subscribers renegotiate', async () => {
  const room = 'storm';
  const teacher = await join(room, 'teacher');
  const [videoId] = await teacher.publish({ audio: false, videoKbps: 200 });
  const students: Bot[] = [];
  for (let k = 1; k <= 20; k++) {
    const before = await plisSent();
    const student = await join(room, `student ${k}`);
    await waitUntil(() => (student.received.get(videoId)?.packets ?? 0) > 0, 10_000, `student ${k} receiving the camera`);
    expect(await plisSent(), `PLIs for student ${k}'s new subscription`).toBeLessThanOrEqual(before + 1);
    // Past the rate limit, so a request from a renegotiated subscriber would go out and be counted.
    await new Promise((resolve) => setTimeout(resolve, PLI_MIN_INTERVAL_MS + 100));
    const beforeRenegotiation = await plisSent();
    // A silent microphone: every other participant's subscriber connection renegotiates to add it.
    const [micId] = await student.publish({ video: false, audio: true, sendMedia: false });
    await waitUntil(
      () => students.every((s) => negotiatedOnServer(room, s.identity, micId)) && negotiatedOnServer(room, 'teacher', micId),
      10_000,
      `everyone renegotiated for student ${k}'s microphone`,
    );
    expect(await plisSent(), `PLIs after ${students.length} subscribers renegotiated`).toBe(beforeRenegotiation);
    students.push(student);
  }
  expect(await plisSent('subscribe')).toBeLessThanOrEqual(20);
  expect(teacher.keyframeRequests).toBeLessThanOrEqual(20 + (await plisSent('loss')));
}, 90_000);

test('a new subscriber gets its first frame soon after its connection is up, even right after another one got its key frame', async () => {
  // A long interval: a key-frame request thrown away before DTLS, or held back by the previous subscriber's,
  // would leave the subscriber waiting for the publisher's own key frames (every 2 s).
  const slow = await startTestServer({ rtc: { pliMinIntervalMs: 5000 } });
  const local: Bot[] = [];
  try {
    const teacher = await Bot.join(slow.signalingUrl, 'first-frame', 'teacher');
    local.push(teacher);
    const [videoId] = await teacher.publish({ audio: false, videoKbps: 200 });
    for (let k = 1; k <= 3; k++) {
      const student = await Bot.join(slow.signalingUrl, 'first-frame', `student ${k}`);
      local.push(student);
      let connectedAt = student.subscriber.connectionState === 'connected' ? performance.now() : undefined;
      student.subscriber.connectionStateChange.subscribe((state) => {
        if (state === 'connected') connectedAt ??= performance.now();
      });
      await waitUntil(() => (student.received.get(videoId)?.packets ?? 0) > 0, 10_000, `student ${k}'s first frame`);
      const delay = student.received.get(videoId)!.firstPacketAt! - connectedAt!;
      console.log(`student ${k}: subscriber connected → first frame ${delay.toFixed(0)} ms`);
      expect(delay, `student ${k}: connected → first frame (ms)`).toBeLessThan(500);
      await new Promise((resolve) => setTimeout(resolve, 300)); // the next one joins after this key frame went by
    }
  } finally {
    for (const bot of local) await bot.close();
    await slow.close();
  }
}, 60_000);
