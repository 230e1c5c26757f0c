import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

/** Debian's Chromium; playwright-core drives it as is (no `npx playwright install`). */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/**
 * Flags for a headless Chromium that can run WebRTC on loopback alone: fake camera and microphone granted without a
 * prompt, loopback candidates allowed, real IPs instead of mDNS names, and no background traffic of its own.
 */
export const CHROMIUM_ARGS: readonly string[] = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--use-fake-device-for-media-stream',
  '--use-fake-ui-for-media-stream',
  '--allow-loopback-in-peer-connection',
  '--disable-features=WebRtcHideLocalIpsWithMdns',
];

/** An empty page on localhost (a potentially trustworthy origin, W3C Secure Contexts §3.1), answered in-process. */
export const BLANK_SECURE_URL = 'http://localhost/__tsfu_blank';

export interface LaunchedChromium {
  /** The persistent context of a fresh profile (its own temporary user data directory). */
  context: BrowserContext;
  /**
   * Opens a new tab on an empty page at {@link BLANK_SECURE_URL}: a secure context (so `getUserMedia` and
   * `RTCPeerConnection` are there), served by the browser itself with no network access. `page.goto` elsewhere works.
   */
  newPage(): Promise<Page>;
  /** Closes the browser and deletes the profile directory; idempotent. */
  close(): Promise<void>;
}

export interface LaunchChromiumOptions {
  /** Extra command line flags, after {@link CHROMIUM_ARGS}. */
  extraArgs?: string[];
  /** Milliseconds to wait for the browser to start. Default 30 s. */
  timeoutMs?: number;
}

/** Starts headless Chromium with a fresh temporary profile. */
export async function launchChromium(options: LaunchChromiumOptions = {}): Promise<LaunchedChromium> {
  const userDataDir = await mkdtemp(join(tmpdir(), 'tsfu-chromium-'));
  let context: BrowserContext;
  try {
    // launchPersistentContext passes --user-data-dir itself, and its default flags keep background tabs' timers
    // running, which WebRTC tests need.
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM_PATH,
      headless: true,
      args: [...CHROMIUM_ARGS, ...(options.extraArgs ?? [])],
      timeout: options.timeoutMs ?? 30_000,
    });
  } catch (error) {
    await rm(userDataDir, { recursive: true, force: true });
    throw error;
  }
  let closing: Promise<void> | undefined;
  return {
    context,
    newPage: async () => {
      const page = await context.newPage();
      await page.route(BLANK_SECURE_URL, (route) =>
        route.fulfill({ status: 200, contentType: 'text/html', body: '<!doctype html><title>tsfu</title>' }),
      );
      await page.goto(BLANK_SECURE_URL);
      return page;
    },
    close: () => {
      closing ??= (async () => {
        await context.close().catch(() => {});
        await rm(userDataDir, { recursive: true, force: true, maxRetries: 3 });
      })();
      return closing;
    },
  };
}
