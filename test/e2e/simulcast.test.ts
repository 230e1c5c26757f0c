import { afterAll, beforeAll, expect, test } from 'vitest';
import type { RunningServer } from '../../server/app.js';
import { launchChromium, type LaunchedChromium } from '../helpers/chromium.js';
import { assertClientBuilt, BrowserParticipant, eventually } from '../helpers/browser-participant.js';
import { startTestServer } from '../helpers/server.js';

let server: RunningServer;
let browser: LaunchedChromium;
const people: BrowserParticipant[] = [];

beforeAll(async () => {
  assertClientBuilt();
  server = await startTestServer();
  browser = await launchChromium();
});
afterAll(async () => {
  for (const p of people) await p.close();
  await browser?.close();
  await server?.close();
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
  // Chromium starts its layers as its bandwidth estimate grows (transport-cc feedback from the SFU).
  await eventually(async () => published.layers.filter((l) => l.active(performance.now())).length, (n) => n === 3, 15_000, 'all three layers arriving');
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
