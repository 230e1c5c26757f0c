import { afterAll, beforeAll } from 'vitest';
import type { RunningServer } from '../../server/app.js';
import type { Config, DeepPartial } from '../../server/config.js';
import { assertClientBuilt, type BrowserParticipant } from './browser-participant.js';
import { launchChromium, type LaunchedChromium } from './chromium.js';
import { startTestServer } from './server.js';

/**
 * The hooks of a browser test file: before its tests, the SDK bundle checked, then a server (`overrides` on the test
 * config) and one Chromium started and handed to `started`; after them, every participant in `people` closed, then
 * Chromium, then the server.
 */
export function useBrowserSuite(
  people: BrowserParticipant[],
  started: (server: RunningServer, browser: LaunchedChromium) => void,
  overrides: DeepPartial<Config> = {},
): void {
  let server: RunningServer | undefined;
  let browser: LaunchedChromium | undefined;
  beforeAll(async () => {
    assertClientBuilt();
    server = await startTestServer(overrides);
    browser = await launchChromium();
    started(server, browser);
  });
  afterAll(async () => {
    for (const p of people) await p.close();
    await browser?.close();
    await server?.close();
  });
}
