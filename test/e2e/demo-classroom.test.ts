// The demo page's classroom controls, driven through the page's own buttons in headless Chromium: a teacher page
// (?teacher=1: roomAdmin) and two student pages (?student=1: no canPublish until the teacher allows it).
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { Page } from 'playwright-core';
import { pino } from 'pino';
import type { RunningServer } from '../../server/app.js';
import { startServer } from '../../server/app.js';
import { defaultConfig } from '../../server/config.js';
import { assertClientBuilt, eventually } from '../helpers/browser-participant.js';
import { launchChromium, type LaunchedChromium } from '../helpers/chromium.js';

const ROOM = 'lesson-e2e';
/** Generous: two cores run three Chromium tabs, each sending and receiving camera and microphone. */
const UI_TIMEOUT = 30_000;

let server: RunningServer;
let browser: LaunchedChromium;

beforeAll(async () => {
  assertClientBuilt();
  // Development mode, as `npm start` runs it: the pages fetch their own tokens from /dev/token.
  server = await startServer({ ...defaultConfig(), http: { host: '127.0.0.1', port: 0 }, log: { level: 'silent' } }, { logger: pino({ level: 'silent' }) });
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
});

/** Opens the demo as `teacher` or `student`, joins through its form, and records its peer connections (for stats). */
async function joinAs(identity: string, role: 'teacher' | 'student'): Promise<Page> {
  const page = await browser.context.newPage();
  page.on('pageerror', (error) => console.error(`[${identity}] page error: ${error.message}`));
  await page.addInitScript(() => {
    const Native = window.RTCPeerConnection;
    const all: RTCPeerConnection[] = [];
    (window as unknown as { __pcs: RTCPeerConnection[] }).__pcs = all;
    window.RTCPeerConnection = class extends Native {
      constructor(config?: RTCConfiguration) {
        super(config);
        all.push(this);
      }
    } as typeof RTCPeerConnection;
  });
  await page.goto(`${server.url}/?room=${ROOM}&identity=${identity}&${role}=1`);
  await page.click('#join-button');
  await page.waitForSelector('#room-view:not([hidden])');
  return page;
}

const tile = (identity: string) => `.tile[data-identity="${identity}"]`;
const button = (identity: string, action: string) => `${tile(identity)} [data-testid="${action}-button"]`;
const visible = (page: Page, selector: string) => page.waitForSelector(selector, { state: 'visible', timeout: UI_TIMEOUT });
const hidden = (page: Page, selector: string) => page.waitForSelector(selector, { state: 'hidden', timeout: UI_TIMEOUT });

/**
 * Audio packets `page` has received from `identity`'s microphone: the inbound-rtp of the receiver whose track the
 * tile's audio element plays; undefined while the tile plays none.
 */
function audioPacketsFrom(page: Page, identity: string): Promise<number | undefined> {
  return page.evaluate(async (id) => {
    const audio = document.querySelector<HTMLAudioElement>(`.tile[data-identity="${id}"] audio`);
    const track = (audio?.srcObject as MediaStream | null)?.getAudioTracks()[0];
    if (track === undefined) return undefined;
    for (const pc of (window as unknown as { __pcs: RTCPeerConnection[] }).__pcs) {
      const receiver = pc.getReceivers().find((r) => r.track === track);
      if (receiver === undefined) continue;
      let packets = 0;
      (await receiver.getStats()).forEach((s: Record<string, unknown>) => {
        if (s.type === 'inbound-rtp') packets += Number(s.packetsReceived ?? 0);
      });
      return packets;
    }
    return undefined;
  }, identity);
}

/** Waits until `page` receives more than `atLeast` more audio packets from `identity` than it had when called. */
async function audioGrows(page: Page, identity: string, atLeast: number, what: string): Promise<number> {
  const start = (await eventually(() => audioPacketsFrom(page, identity), (n) => n !== undefined, UI_TIMEOUT, `${what}: audio element`))!;
  return (await eventually(() => audioPacketsFrom(page, identity), (n) => n !== undefined && n > start + atLeast, UI_TIMEOUT, `${what}: packets grow`))!;
}

/** The page's room is still the one it joined (no rejoin) and connected, with no `reconnecting` since the mark. */
function sameSession(page: Page): Promise<boolean> {
  return page.evaluate(() => {
    const w = window as unknown as { tsfuDemo: { room?: { connected: boolean } }; __joinedRoom?: unknown; __reconnects?: number };
    return w.tsfuDemo.room !== undefined && w.tsfuDemo.room === w.__joinedRoom && w.tsfuDemo.room.connected && w.__reconnects === 0;
  });
}

test('a teacher moderates two students through the demo page: hands, the floor, mute, unmute request, revoke, remove', async () => {
  const teacher = await joinAs('teacher', 'teacher');
  const ann = await joinAs('ann', 'student');
  const ben = await joinAs('ben', 'student');
  await ann.evaluate(() => {
    const w = window as unknown as { tsfuDemo: { room: { on(e: string, f: () => void): void } }; __joinedRoom?: unknown; __reconnects?: number };
    w.__joinedRoom = w.tsfuDemo.room;
    w.__reconnects = 0;
    w.tsfuDemo.room.on('reconnecting', () => (w.__reconnects = (w.__reconnects ?? 0) + 1));
  });

  // The teacher has the moderation buttons on both students' tiles; the students have none, and may not publish yet.
  for (const student of ['ann', 'ben']) await visible(teacher, button(student, 'remove'));
  for (const [page, other] of [[ann, 'teacher'], [ann, 'ben'], [ben, 'ann']] as const) {
    await page.waitForSelector(tile(other), { timeout: UI_TIMEOUT });
    expect(await page.isHidden(`${tile(other)} .tile-controls`)).toBe(true);
  }
  expect(await ann.isDisabled('[data-testid="publish-button"]')).toBe(true);
  expect(await teacher.isHidden('[data-testid="hand-button"]')).toBe(true);

  // Every page shows a connection-quality level on every tile, its own included, once the SDK has judged them.
  for (const page of [teacher, ann, ben]) {
    await page.waitForFunction(
      () => {
        const tiles = Array.from(document.querySelectorAll<HTMLElement>('.tile'));
        return tiles.length === 3 && tiles.every((t) => ['excellent', 'good', 'poor', 'lost'].includes(t.querySelector<HTMLElement>('[data-testid="quality"]')?.dataset.quality ?? ''));
      },
      undefined,
      { timeout: UI_TIMEOUT },
    );
  }

  // Ann raises her hand: the teacher and Ben see it on her tile.
  await ann.click('[data-testid="hand-button"]');
  await visible(teacher, `${tile('ann')} [data-testid="hand"]`);
  await visible(ben, `${tile('ann')} [data-testid="hand"]`);
  expect(await ann.textContent('[data-testid="hand-button"]')).toBe('Lower hand');

  // The teacher allows her to speak: her camera button comes alive, and what she publishes reaches the teacher
  // on the same session (no rejoin).
  await teacher.click(button('ann', 'allow'));
  await visible(teacher, button('ann', 'revoke'));
  await ann.click('[data-testid="publish-button"]');
  await visible(ann, '[data-testid="mic-button"]');
  await audioGrows(teacher, 'ann', 50, 'teacher hears ann');
  await teacher.waitForFunction(() => (document.querySelector<HTMLVideoElement>('.tile[data-identity="ann"] video')?.videoWidth ?? 0) > 0, undefined, { timeout: UI_TIMEOUT });
  expect(await sameSession(ann)).toBe(true);
  // Her hand goes down; the speaking student's tile is highlighted on the teacher's page.
  await ann.click('[data-testid="hand-button"]');
  await hidden(teacher, `${tile('ann')} [data-testid="hand"]`);
  await teacher.waitForSelector(`.tile.speaking[data-identity="ann"]`, { timeout: UI_TIMEOUT });

  // The teacher mutes her: both pages say so, and no more of her audio reaches the teacher.
  await teacher.click(button('ann', 'mute'));
  await visible(teacher, `${tile('ann')} [data-testid="muted"]`);
  await visible(ann, `${tile('ann')} [data-testid="muted"]`);
  await ann.waitForFunction(() => document.querySelector('[data-testid="mic-button"]')?.textContent === 'Unmute microphone', undefined, { timeout: UI_TIMEOUT });
  // Packets already in flight when the mute landed still arrive: wait for the count to settle (1 s without change)…
  let previous = -1;
  const settled = await eventually(
    async () => {
      const before = previous;
      const now = (await audioPacketsFrom(teacher, 'ann')) ?? -1;
      previous = now;
      await new Promise((resolve) => setTimeout(resolve, 1000));
      return { before, now };
    },
    ({ before, now }) => now === before,
    UI_TIMEOUT,
    'ann audio stops at the teacher',
  );
  // …then it stays put for 2 s more: a microphone sends 50 packets a second, so a leak would show at once.
  await new Promise((resolve) => setTimeout(resolve, 2000));
  expect(await audioPacketsFrom(teacher, 'ann')).toBe(settled.now);
  expect(await teacher.isEnabled(button('ann', 'ask-unmute'))).toBe(true);

  // The teacher asks her to unmute; she sees the request and accepts: her audio flows again, no one shows muted.
  await teacher.click(button('ann', 'ask-unmute'));
  await visible(ann, '[data-testid="unmute-request"]');
  expect(await ann.textContent('[data-testid="unmute-request"]')).toContain('teacher asks you to unmute your microphone');
  await ann.click('[data-testid="accept-unmute-button"]');
  await hidden(ann, '[data-testid="unmute-request"]');
  await hidden(teacher, `${tile('ann')} [data-testid="muted"]`);
  await hidden(ann, `${tile('ann')} [data-testid="muted"]`);
  await audioGrows(teacher, 'ann', 50, 'teacher hears ann again');

  // The teacher revokes the floor: her tracks are gone from the teacher's page; her camera button is off again.
  await teacher.click(button('ann', 'revoke'));
  await visible(teacher, button('ann', 'allow'));
  await teacher.waitForFunction(
    () => {
      const room = (window as unknown as { tsfuDemo: { room?: { participants: Map<string, { tracks: Map<string, unknown> }> } } }).tsfuDemo.room;
      return room?.participants.get('ann')?.tracks.size === 0 && document.querySelectorAll('.tile[data-identity="ann"] [data-track-id]').length === 0;
    },
    undefined,
    { timeout: UI_TIMEOUT },
  );
  await hidden(ann, '[data-testid="mic-button"]');
  expect(await ann.isDisabled('[data-testid="publish-button"]')).toBe(true);
  expect(await sameSession(ann)).toBe(true);

  // The teacher removes Ben: his page says so and stays out; he is gone from the others' pages.
  await teacher.click(button('ben', 'remove'));
  await ben.waitForFunction(() => document.querySelector('#status-text')?.textContent === 'Removed from the room', undefined, { timeout: UI_TIMEOUT });
  await visible(ben, '#join-form');
  expect(await ben.textContent('#notice')).toContain('removed you');
  await teacher.waitForSelector(tile('ben'), { state: 'detached', timeout: UI_TIMEOUT });
  await ann.waitForSelector(tile('ben'), { state: 'detached', timeout: UI_TIMEOUT });
  // An SDK that reconnected would be back within its first backoff (at most 250 ms) plus a join: 3 s is plenty.
  await new Promise((resolve) => setTimeout(resolve, 3000));
  expect(await ben.evaluate(() => (window as unknown as { tsfuDemo: { room?: unknown } }).tsfuDemo.room === undefined)).toBe(true);
  expect(await teacher.$(tile('ben'))).toBeNull();
  expect(await ben.textContent('#status-text')).toBe('Removed from the room');

  await ann.click('#leave-button');
  await teacher.click('#leave-button');
  await expect.poll(() => server.sfu.rooms.size, { timeout: 10_000 }).toBe(0);
  for (const page of [teacher, ann, ben]) await page.close();
}, 240_000);
