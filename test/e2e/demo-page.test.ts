import { afterAll, beforeAll, expect, test } from 'vitest';
import type { Page } from 'playwright-core';
import type { RunningServer } from '../../server/app.js';
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
