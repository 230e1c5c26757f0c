import { expect, test } from 'vitest';
import type { RunningServer } from '../../server/app.js';
import type { LaunchedChromium } from '../helpers/chromium.js';
import { useBrowserSuite } from '../helpers/browser-suite.js';
import { BrowserParticipant, eventually } from '../helpers/browser-participant.js';

let server: RunningServer;
let browser: LaunchedChromium;
const people: BrowserParticipant[] = [];

useBrowserSuite(people, (s, b) => {
  server = s;
  browser = b;
});

const video = async (p: BrowserParticipant) => (await p.inbound()).find((s) => s.kind === 'video');
const setTrackSettings = (p: BrowserParticipant, trackId: string, settings: Record<string, unknown>) =>
  p.page.evaluate(({ trackId, settings }) => (window as unknown as { __room: { setTrackSettings(id: string, s: unknown): void } }).__room.setTrackSettings(trackId, settings), { trackId, settings });

test('a 720p camera is published in three layers; a subscriber gets the one its tile needs, none while hidden', async () => {
  const teacher = await BrowserParticipant.join(browser, server, 'simulcast', 'teacher', { width: 1280, height: 720, audio: false });
  people.push(teacher);
  const student = await BrowserParticipant.join(browser, server, 'simulcast', 'student', { video: false, audio: false });
  people.push(student);
  const room = server.sfu.room('simulcast');
  const published = [...room.participant('teacher')!.publishedTracks.values()][0];
  expect(published.layers.map((l) => [l.rid, l.width, l.height])).toEqual([['q', 320, 180], ['h', 640, 360], ['f', 1280, 720]]);
  // Chromium starts its layers as its bandwidth estimate grows (transport-cc feedback from the SFU): ~5 s on an idle
  // machine; with both cores busy elsewhere the estimate climbs slower (1.7 Mbit/s after 10 s, the top layer just
  // starting), so the wait is generous: this test is about choosing layers, not about the ramp.
  await eventually(async () => published.layers.filter((l) => l.active(performance.now())).length, (n) => n === 3, 40_000, 'all three layers arriving');
  const started = await eventually(() => video(student), (s) => s !== undefined && s.frameWidth === 1280, 20_000, 'the student decoding the 720p layer');
  // The SDK's trackState events, as the page sees them.
  await student.page.evaluate(() => {
    const w = window as unknown as { __room: { on(e: string, l: (...a: unknown[]) => void): void }; __trackStates: unknown[] };
    w.__trackStates = [];
    w.__room.on('trackState', (trackId, state) => w.__trackStates.push({ trackId, ...(state as object) }));
  });
  const trackStates = () => student.page.evaluate(() => (window as unknown as { __trackStates: unknown[] }).__trackStates);
  // A 160x90 tile: the quarter layer (320x180) covers it.
  await setTrackSettings(student, published.id, { width: 160, height: 90 });
  const small = await eventually(() => video(student), (s) => s !== undefined && s.frameWidth === 320 && s.framesDecoded > started!.framesDecoded, 10_000, 'the 320x180 layer');
  expect(small!.frameHeight).toBe(180);
  // Hidden: paused, nothing arrives; shown again: back, at the size of its tile.
  await setTrackSettings(student, published.id, { enabled: false });
  await eventually(async () => room.participant('student')!.subscriber.downTracks.get(published.id)!.paused, (p) => p, 5000, 'paused');
  await new Promise((resolve) => setTimeout(resolve, 300));
  const hidden = (await video(student))!.packetsReceived;
  await new Promise((resolve) => setTimeout(resolve, 1500));
  expect((await video(student))!.packetsReceived).toBe(hidden);
  await setTrackSettings(student, published.id, { enabled: true, width: 640, height: 360 });
  const shown = await eventually(() => video(student), (s) => s !== undefined && s.frameWidth === 640 && s.packetsReceived > hidden, 10_000, 'the 640x360 layer after showing');
  expect(shown!.frameHeight).toBe(360);
  expect(await trackStates()).toEqual([
    { trackId: published.id, paused: false, layer: 0 },
    { trackId: published.id, paused: true, layer: -1 },
    { trackId: published.id, paused: false, layer: 1 },
  ]);
});

test('dynacast: the publisher encodes only the layers someone receives, and brings one back as soon as it is needed', async () => {
  const teacher = await BrowserParticipant.join(browser, server, 'dynacast', 'teacher', { width: 1280, height: 720, audio: false });
  people.push(teacher);
  const published = [...server.sfu.room('dynacast').participant('teacher')!.publishedTracks.values()][0];
  const activeLayers = () => Promise.resolve(published.layers.filter((l) => l.active(performance.now())).map((l) => l.rid).join(','));
  // The encodings the teacher's Chromium sends, as the SDK set them.
  const encodings = () =>
    teacher.page.evaluate(() =>
      (window as unknown as { __pcs: RTCPeerConnection[] }).__pcs
        .flatMap((pc) => pc.getSenders().filter((s) => s.track?.kind === 'video'))
        .flatMap((s) => s.getParameters().encodings.map((e) => `${e.rid}:${e.active ? 'on' : 'off'}`))
        .join(','),
    );
  // Alone in the room: nobody receives the camera, so after the delay Chromium stops all three encodings.
  await eventually(activeLayers, (rids) => rids !== '', 10_000, 'the camera arriving');
  await eventually(encodings, (e) => e === 'q:off,h:off,f:off', 20_000, 'every encoding stopped while nobody watches');
  await eventually(activeLayers, (rids) => rids === '', 5000, 'no layer arriving while nobody watches');
  // A student joins: every layer is asked back at once, and the student sees the camera.
  const student = await BrowserParticipant.join(browser, server, 'dynacast', 'student', { video: false, audio: false });
  people.push(student);
  const joined = await eventually(() => video(student), (s) => s !== undefined && s.frameWidth === 1280, 20_000, 'the student decoding the 720p layer');
  // A 160x90 tile needs the quarter layer only: the others stop once that has held for the delay.
  await setTrackSettings(student, published.id, { width: 160, height: 90 });
  await eventually(encodings, (e) => e === 'q:on,h:off,f:off', 15_000, 'the quarter encoding alone');
  await eventually(activeLayers, (rids) => rids === 'q', 5000, 'only the quarter layer arriving');
  const small = (await video(student))!;
  expect([small.frameWidth, small.framesDecoded > joined!.framesDecoded]).toEqual([320, true]);
  // Enlarged to full screen: the full layer comes back, and the student switches to it.
  const enlargedAt = performance.now();
  await setTrackSettings(student, published.id, { width: 1280, height: 720 });
  await eventually(() => video(student), (s) => s !== undefined && s.frameWidth === 1280, 10_000, 'the 720p layer again');
  // Well under the downgrade delay: an upgrade is not debounced.
  expect(performance.now() - enlargedAt).toBeLessThan(5000);
  expect(await encodings()).toBe('q:on,h:on,f:on');
});
