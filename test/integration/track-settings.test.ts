import { afterAll, afterEach, beforeAll, expect, test } from 'vitest';
import type { RunningServer } from '../../server/app.js';
import { ErrorCode } from '../../signaling/errors.js';
import { Bot, waitUntil } from '../helpers/bot.js';
import { metricTotal, startTestServer } from '../helpers/server.js';

let server: RunningServer;
const bots: Bot[] = [];
const join = async (identity: string) => {
  const bot = await Bot.join(server.signalingUrl, 'settings', identity);
  bots.push(bot);
  return bot;
};

beforeAll(async () => {
  server = await startTestServer();
});
afterEach(async () => {
  await Promise.all(bots.splice(0).map((bot) => bot.close()));
  await waitUntil(() => server.sfu.rooms.size === 0, 10_000, 'rooms to empty');
});
afterAll(async () => {
  await server?.close();
});

test('a hidden video track is paused and the client told; shown again, it resumes from a key frame', async () => {
  const teacher = await join('teacher');
  const [video, audio] = await teacher.publish();
  const student = await join('student');
  await student.receivesTracks(2);
  const packets = (trackId: string) => student.received.get(trackId)?.packets ?? 0;
  const states = () => student.signaling.messages.filter((m) => m.type === 'trackState');

  student.signaling.send({ type: 'trackSettings', trackIds: [video], enabled: false });
  await waitUntil(() => states().length === 1, 5000, 'trackState after hiding');
  expect(states()[0]).toEqual({ type: 'trackState', trackId: video, paused: true, layer: -1 });
  const downTrack = server.sfu.room('settings').participant('student')!.subscriber.downTracks.get(video)!;
  expect(downTrack.paused).toBe(true);
  expect(await metricTotal(server, 'tsfu_sfu_paused_down_tracks')).toBe(1);
  // Nothing more arrives for the video (a packet already on its way may); audio goes on.
  await new Promise((resolve) => setTimeout(resolve, 200));
  const [videoHidden, audioHidden] = [packets(video), packets(audio)];
  await waitUntil(() => packets(audio) >= audioHidden + 25, 5000, 'audio to keep flowing');
  expect(packets(video)).toBe(videoHidden);

  student.signaling.send({ type: 'trackSettings', trackIds: [video], enabled: true, width: 320, height: 180 });
  await waitUntil(() => states().length === 2, 5000, 'trackState after showing');
  expect(states()[1]).toEqual({ type: 'trackState', trackId: video, paused: false, layer: 0 });
  // The resume asks the teacher for a key frame rather than waiting up to two seconds for the next one.
  await waitUntil(() => packets(video) > videoHidden + 10, 3000, 'video to resume');
  expect(downTrack.paused).toBe(false);
  expect(await metricTotal(server, 'tsfu_sfu_paused_down_tracks')).toBe(0);
});

test('settings for a track the client does not receive get TRACK_NOT_FOUND, and still apply to the others named; bad settings, SCHEMA_VIOLATION', async () => {
  const teacher = await join('teacher');
  const [video, audio] = await teacher.publish({ sendMedia: false });
  const student = await join('student');
  const notReceived = await student.signaling.expectError({ type: 'trackSettings', trackIds: ['TR_nope'], enabled: false });
  expect(notReceived).toMatchObject({ code: ErrorCode.TRACK_NOT_FOUND, requestType: 'trackSettings' });
  await waitUntil(() => student.hasNegotiated([video, audio]), 10_000, 'teacher tracks negotiated');
  // A batch naming a track gone a moment ago (the SDK groups its observers' settings): the rest still applies.
  const mixed = await student.signaling.expectError({ type: 'trackSettings', trackIds: ['TR_gone', video], enabled: false });
  expect(mixed).toMatchObject({ code: ErrorCode.TRACK_NOT_FOUND });
  expect(mixed.message).toContain('TR_gone');
  expect(mixed.message).not.toContain(video);
  await waitUntil(() => student.signaling.messages.some((m) => m.type === 'trackState' && m.trackId === video && m.paused === true), 5000, 'the video paused');
  student.signaling.send({ type: 'trackSettings', trackIds: [video], enabled: true });
  await waitUntil(() => student.signaling.messages.filter((m) => m.type === 'trackState' && m.trackId === video).length === 2, 5000, 'the video resumed');
  // Audio is never paused: settings for it are accepted and change nothing.
  student.signaling.send({ type: 'trackSettings', trackIds: [audio], enabled: false });
  const invalid = await student.signaling.expectError({ type: 'trackSettings', trackIds: [audio], quality: 'ultra' });
  expect(invalid).toMatchObject({ code: ErrorCode.SCHEMA_VIOLATION });
  expect(student.signaling.messages.filter((m) => m.type === 'trackState' && m.trackId === audio)).toEqual([]);
});
