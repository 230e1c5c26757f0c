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

interface QualityEvent {
  identity: string;
  quality: string;
}
type PageWindow = Window & {
  __room: { on(event: string, listener: (...args: unknown[]) => void): void; connectionQuality(identity: string): string | undefined };
  __quality: QualityEvent[];
  __pcs: RTCPeerConnection[];
};

/**
 * Every page opened after this records `connectionQualityChanged` from the moment its room exists: the listener is
 * added when the join helper stores the room in `window.__room`, long before the first sample (2 s after joining).
 */
async function recordQualityEvents(): Promise<void> {
  await browser.context.addInitScript(() => {
    const w = window as unknown as { __quality: QualityEvent[] };
    w.__quality = [];
    let room: PageWindow['__room'] | undefined;
    Object.defineProperty(window, '__room', {
      configurable: true,
      get: () => room,
      set: (value: PageWindow['__room']) => {
        room = value;
        value.on('connectionQualityChanged', (identity, quality) => w.__quality.push({ identity: identity as string, quality: quality as string }));
      },
    });
  });
}

/** The levels `viewer` was told of for `identity`, in order. */
const heard = (viewer: BrowserParticipant, identity: string) =>
  viewer.page.evaluate((identity) => (window as unknown as PageWindow).__quality.filter((e) => e.identity === identity).map((e) => e.quality), identity);
const shown = (viewer: BrowserParticipant, identity: string) =>
  viewer.page.evaluate((identity) => (window as unknown as PageWindow).__room.connectionQuality(identity) ?? null, identity);
const connectedWell = (q: string | null | undefined) => q === 'excellent' || q === 'good';

test('connection quality: two participants see each other connected well, then lost when the media stops, then gone with the page', async () => {
  await recordQualityEvents();
  // Camera (640x480, two layers) and microphone each, on loopback.
  const alice = await BrowserParticipant.join(browser, server, 'quality', 'alice');
  people.push(alice);
  const bob = await BrowserParticipant.join(browser, server, 'quality', 'bob');
  people.push(bob);

  // The first judgements may be lower while Chromium ramps up; each must reach excellent or good within a few samples.
  for (const [viewer, other] of [[alice, 'bob'], [bob, 'alice']] as const) {
    const levels = await eventually(() => heard(viewer, other), (q) => connectedWell(q.at(-1)), 15_000, `${viewer.identity} told ${other} is connected well`);
    expect(await shown(viewer, other)).toBe(levels.at(-1));
    // Its own quality is judged too, from its own connections on loopback.
    expect(connectedWell(await shown(viewer, viewer.identity)), `${viewer.identity}'s own quality`).toBe(true);
  }

  // Alice's media stops with her socket still open (her senders let go of their tracks): Bob receives nothing from her
  // on tracks nobody paused, and is told she is lost once both have been silent for SILENT_AFTER_MS (3 s).
  await alice.page.evaluate(async () => {
    for (const pc of (window as unknown as PageWindow).__pcs) for (const sender of pc.getSenders()) if (sender.track) await sender.replaceTrack(null);
  });
  await eventually(() => heard(bob, 'alice'), (q) => q.at(-1) === 'lost', 12_000, 'bob told alice is lost');
  expect(await shown(bob, 'alice')).toBe('lost');

  // Alice's page closes: her socket closes with it, the server removes her at once (participantLeft), and Bob's SDK
  // forgets her level without another event.
  const heardBefore = (await heard(bob, 'alice')).length;
  await alice.close();
  await eventually(() => bob.events<{ identity: string }>('participantLeft'), (e) => e.some((x) => x.identity === 'alice'), 10_000, 'alice leaving');
  expect(await shown(bob, 'alice')).toBeNull();
  expect((await heard(bob, 'alice')).length).toBe(heardBefore);
});
