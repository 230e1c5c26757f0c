import { afterAll, beforeAll, expect, test } from 'vitest';
import type { Page } from 'playwright-core';
import type { RunningServer } from '../../server/app.js';
import { reportMeasurement } from '../helpers/bench-report.js';
import { assertClientBuilt } from '../helpers/browser-participant.js';
import { launchChromium, type LaunchedChromium } from '../helpers/chromium.js';
import { startServer } from '../../server/app.js';
import { defaultConfig } from '../../server/config.js';
import { pino } from 'pino';

let server: RunningServer;
let browser: LaunchedChromium;

beforeAll(async () => {
  assertClientBuilt();
  // Development mode, as `npm start` runs it: the page fetches its own tokens from /dev/token.
  server = await startServer({ ...defaultConfig(), http: { host: '127.0.0.1', port: 0 }, log: { level: 'silent' } }, { logger: pino({ level: 'silent' }) });
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
});

async function joinThroughForm(identity: string): Promise<Page> {
  const page = await browser.context.newPage();
  await page.goto(`${server.url}/?room=demo-e2e&identity=${identity}`);
  await page.click('#join-button');
  await page.waitForSelector('#room-view:not([hidden])');
  return page;
}

test('two people join the demo classroom through its form, see each other and chat', async () => {
  const ann = await joinThroughForm('ann');
  const ben = await joinThroughForm('ben');
  for (const [page, other] of [[ann, 'ben'], [ben, 'ann']] as const) {
    // The other participant's tile plays their camera.
    await page.waitForFunction((id) => {
      const video = document.querySelector<HTMLVideoElement>(`.tile[data-identity="${id}"] video`);
      return video !== null && video.videoWidth > 0 && !video.paused;
    }, other, { timeout: 30_000 });
  }
  await ann.fill('#chat-input', 'hello from ann');
  await ann.click('#chat-send');
  await ben.waitForSelector('#chat-log .chat-message[data-from="ann"]', { timeout: 10_000 });
  expect(await ben.textContent('#chat-log')).toContain('hello from ann');
  await ben.click('#leave-button');
  await ann.waitForFunction(() => document.querySelector('.tile[data-identity="ben"]') === null, undefined, { timeout: 10_000 });
  await ann.click('#leave-button');
  await expect.poll(() => server.sfu.rooms.size, { timeout: 10_000 }).toBe(0);
});

/** The speakers the page's SDK reports now (`room.activeSpeakers`): identity, whether local, and the participant's identity. */
function reportedSpeakers(page: Page): Promise<{ identity: string; isLocal: boolean; participant: string | undefined }[]> {
  return page.evaluate(() => {
    const room = (window as unknown as { tsfuDemo: { room?: { activeSpeakers: readonly { identity: string; isLocal: boolean; participant?: { identity: string } }[] } } }).tsfuDemo.room;
    return (room?.activeSpeakers ?? []).map((s) => ({ identity: s.identity, isLocal: s.isLocal, participant: s.participant?.identity }));
  });
}

const speakingTile = (identity: string) => `.tile.speaking[data-identity="${identity}"]`;

test("the demo marks the tile of whoever speaks: Chromium's fake microphone beeps, the SDK reports it, and a muted one drops out", async () => {
  const ann = await joinThroughForm('ann-speaks');
  const joined = performance.now();
  const ben = await joinThroughForm('ben-speaks');
  // Each page: the other's tile and its own are marked, and the SDK names the other as a RemoteParticipant, itself as local.
  for (const [page, self, other] of [[ann, 'ann-speaks', 'ben-speaks'], [ben, 'ben-speaks', 'ann-speaks']] as const) {
    await page.waitForSelector(speakingTile(other), { timeout: 20_000 });
    await page.waitForSelector(speakingTile(self), { timeout: 20_000 });
    const speakers = await reportedSpeakers(page);
    expect(speakers).toContainEqual({ identity: other, isLocal: false, participant: other });
    expect(speakers).toContainEqual({ identity: self, isLocal: true, participant: undefined });
  }
  reportMeasurement('e2e_active_speaker_after_join_ms', Math.round(performance.now() - joined));
  // Ben mutes his microphone (the track disabled: Chromium sends silence, level 127): his tile loses the mark.
  await ben.evaluate(() => {
    const room = (window as unknown as { tsfuDemo: { room: { localTracks: Map<string, { track: MediaStreamTrack }> } } }).tsfuDemo.room;
    for (const local of room.localTracks.values()) if (local.track.kind === 'audio') local.track.enabled = false;
  });
  await ann.waitForSelector(`.tile[data-identity="ben-speaks"]:not(.speaking)`, { timeout: 5000 });
  await ann.waitForSelector(speakingTile('ann-speaks'));
  expect((await reportedSpeakers(ann)).map((s) => s.identity)).toEqual(['ann-speaks']);
  await ben.click('#leave-button');
  await ann.click('#leave-button');
  await expect.poll(() => server.sfu.rooms.size, { timeout: 10_000 }).toBe(0);
});
