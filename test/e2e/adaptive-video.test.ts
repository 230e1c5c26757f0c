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

/** A `trackSettings` message the page sent, and when (the page's performance.now()). */
interface Sent {
  trackIds: string[];
  enabled?: boolean;
  width?: number;
  height?: number;
  at: number;
}
type PageWindow = Window & {
  __room: {
    participants: Map<string, { tracks: Map<string, { trackId: string; track?: MediaStreamTrack }> }>;
    observeVideo(trackId: string, element: HTMLVideoElement): () => void;
    unsubscribe(trackId: string): void;
    on(event: string, listener: (...args: unknown[]) => void): void;
  };
  __sent: Sent[];
  __trackStates: unknown[];
  __errors: unknown[];
  __stopObserving: () => void;
  __adaptive: HTMLVideoElement;
  /** The sizes the test's own ResizeObserver saw, and the moments its IntersectionObserver saw the element appear. */
  __sizes: { size: string; at: number }[];
  __visibleAt: number[];
};

const video = async (p: BrowserParticipant) => (await p.inbound()).find((s) => s.kind === 'video');
/** Changes the observed element's style in one task and returns when (the page's performance.now()). */
const restyle = (p: BrowserParticipant, style: Partial<Record<'display' | 'width' | 'height' | 'top', string>>) =>
  p.page.evaluate((style) => {
    Object.assign((window as unknown as PageWindow).__adaptive.style, style);
    return performance.now();
  }, style);
const sent = (p: BrowserParticipant) =>
  p.page.evaluate(() => (window as unknown as PageWindow).__sent.map(({ enabled, width, height }) => ({ enabled, width, height })));
/** When the last trackSettings message was sent (the page's performance.now()). */
const lastSentAt = (p: BrowserParticipant) => p.page.evaluate(() => (window as unknown as PageWindow).__sent.at(-1)!.at);
const sizeOf = (s: { width?: number; height?: number }) => `${s.width}x${s.height}`;
/** The sizes the element passes through on its way from 1280x720 to 160x90 (b), one per frame. */
const BURST = ['1120x630', '960x540', '480x270', '320x180', '160x90'];

test('observeVideo: the element size picks the layer, hiding it pauses the track, showing it again resumes at the new size', async () => {
  const teacher = await BrowserParticipant.join(browser, server, 'adaptive', 'teacher', { width: 1280, height: 720, audio: false });
  people.push(teacher);
  const student = await BrowserParticipant.join(browser, server, 'adaptive', 'student', { video: false, audio: false });
  people.push(student);
  const room = server.sfu.room('adaptive');
  const published = [...room.participant('teacher')!.publishedTracks.values()][0];
  expect(published.layers.map((l) => [l.rid, l.width, l.height])).toEqual([['q', 320, 180], ['h', 640, 360], ['f', 1280, 720]]);
  const downTrack = () => room.participant('student')!.subscriber.downTracks.get(published.id);
  // Chromium starts its layers as its bandwidth estimate grows: a few seconds idle, much longer on a busy machine.
  await eventually(async () => published.layers.filter((l) => l.active(performance.now())).length, (n) => n === 3, 40_000, 'all three layers arriving');
  await eventually(() => student.events<{ trackId: string }>('trackSubscribed'), (e) => e.some((x) => x.trackId === published.id), 15_000, 'the camera subscribed');

  // The page shows the camera in a 1280x720 element at the top left of the 1280x720 viewport and lets the SDK
  // observe it; every trackSettings message the SDK sends, and every trackState and error event, is recorded.
  expect(await student.page.evaluate(() => [devicePixelRatio, innerWidth, innerHeight])).toEqual([1, 1280, 720]);
  await student.page.evaluate((trackId) => {
    const w = window as unknown as PageWindow;
    w.__sent = [];
    const send = WebSocket.prototype.send;
    WebSocket.prototype.send = function (this: WebSocket, data: string | ArrayBufferLike | Blob | ArrayBufferView) {
      if (typeof data === 'string') {
        const msg = JSON.parse(data) as { type: string };
        if (msg.type === 'trackSettings') w.__sent.push({ ...(msg as unknown as Sent), at: performance.now() });
      }
      return send.call(this, data);
    };
    w.__trackStates = [];
    w.__room.on('trackState', (id, state) => w.__trackStates.push({ trackId: id, ...(state as object) }));
    w.__errors = [];
    w.__room.on('error', (error) => w.__errors.push(error));
    const track = [...w.__room.participants.values()].flatMap((p) => [...p.tracks.values()]).find((t) => t.trackId === trackId)!.track!;
    const element = document.createElement('video');
    element.muted = true;
    element.autoplay = true;
    element.playsInline = true;
    element.style.cssText = 'position: fixed; left: 0; top: 0; width: 1280px; height: 720px; margin: 0; padding: 0; border: 0; z-index: 1';
    element.srcObject = new MediaStream([track]);
    document.body.append(element);
    void element.play().catch(() => undefined);
    w.__adaptive = element;
    w.__stopObserving = w.__room.observeVideo(trackId, element);
    // The test's own observers: called in the same notifications (the same task) as the SDK's.
    w.__sizes = [];
    new ResizeObserver(([entry]) => w.__sizes.push({ size: `${entry!.contentRect.width}x${entry!.contentRect.height}`, at: performance.now() })).observe(element);
    w.__visibleAt = [];
    new IntersectionObserver((entries) => {
      if (entries.at(-1)!.isIntersecting) w.__visibleAt.push(performance.now());
    }).observe(element);
  }, published.id);
  const trackStates = () => student.page.evaluate(() => (window as unknown as PageWindow).__trackStates);

  // (a) 1280x720: the full layer.
  await eventually(() => sent(student), (s) => s.length === 1, 5000, 'the first trackSettings');
  expect(await sent(student)).toEqual([{ enabled: true, width: 1280, height: 720 }]);
  expect([downTrack()!.maxLayer, downTrack()!.paused]).toEqual([2, false]);
  const full = await eventually(() => video(student), (s) => s !== undefined && s.frameWidth === 1280, 20_000, 'the student decoding the 720p layer');
  expect(full!.frameHeight).toBe(720);
  await eventually(() => student.page.evaluate(() => (window as unknown as PageWindow).__adaptive.videoWidth), (w) => w === 1280, 5000, 'the element showing 1280 wide');

  // (b) Shrunk to 160x90 through several sizes, one per frame, as a drag would: a size is sent only once it has
  // held for the debounce, so only the last one (an intermediate one only if the page stalled that long between
  // two frames). The quarter layer (320x180) covers 160x90.
  const burstStart = await student.page.evaluate(async (burst) => {
    const start = performance.now();
    const style = (window as unknown as PageWindow).__adaptive.style;
    for (const size of burst) {
      await new Promise((resolve) => requestAnimationFrame(resolve));
      const [width, height] = size.split('x');
      Object.assign(style, { width: `${width}px`, height: `${height}px` });
    }
    return start;
  }, BURST);
  await eventually(async () => downTrack()!.maxLayer, (layer) => layer === 0, 5000, 'the down track capped at the quarter layer');
  const burst = await student.page.evaluate((since) => {
    const w = window as unknown as PageWindow;
    return { sizes: w.__sizes.filter((s) => s.at > since), sent: w.__sent.filter((s) => s.at > since) };
  }, burstStart);
  expect(burst.sizes.map((s) => s.size)).toEqual(BURST);
  const heldMs = burst.sizes.map((s, i) => (burst.sizes[i + 1]?.at ?? Infinity) - s.at);
  const sentSizes = burst.sent.map(sizeOf);
  expect(sentSizes.at(-1)).toBe('160x90');
  BURST.forEach((size, i) => {
    if (heldMs[i]! < 95) expect(sentSizes, `${size} held ${heldMs[i]!.toFixed(1)} ms`).not.toContain(size);
  });
  expect(burst.sent.at(-1)!.at - burst.sizes.at(-1)!.at).toBeGreaterThanOrEqual(95);
  const longestFrameMs = Math.max(...heldMs.slice(0, -1));
  const small = await eventually(() => video(student), (s) => s !== undefined && s.frameWidth === 320 && s.framesDecoded > full!.framesDecoded, 10_000, 'the 320x180 layer');
  expect(small!.frameHeight).toBe(180);

  // (c) display: none: paused after the debounce, and nothing arrives.
  const hiddenAt = await restyle(student, { display: 'none' });
  await eventually(async () => downTrack()!.paused, (paused) => paused, 5000, 'the down track paused');
  await eventually(trackStates, (s) => JSON.stringify(s.at(-1)) === JSON.stringify({ trackId: published.id, paused: true, layer: -1 }), 5000, 'trackState paused reaching the page');
  expect((await sent(student)).at(-1)).toEqual({ enabled: false });
  expect(await lastSentAt(student)).toBeGreaterThanOrEqual(hiddenAt + 95);
  let previous = -1;
  const hidden = await eventually(
    async () => (await video(student))!.packetsReceived,
    (packets) => {
      const still = packets === previous;
      previous = packets;
      return still;
    },
    5000,
    'no video packets between two reads while hidden',
  );

  // (d) Shown again at 640x360: sent at once, in the IntersectionObserver notification that saw it appear (the
  // test's own observer is called in the same task: well under a millisecond apart), not a debounce later; resumed,
  // the half layer.
  const shownAt = await restyle(student, { display: '', width: '640px', height: '360px' });
  await eventually(async () => [downTrack()!.paused, downTrack()!.maxLayer], ([paused, layer]) => paused === false && layer === 1, 5000, 'the down track resumed at the half layer');
  expect((await sent(student)).at(-1)).toEqual({ enabled: true, width: 640, height: 360 });
  const showSentAt = await lastSentAt(student);
  const appearedAt = await student.page.evaluate((since) => (window as unknown as PageWindow).__visibleAt.find((t) => t > since)!, shownAt);
  expect(Math.abs(showSentAt - appearedAt)).toBeLessThan(50);
  const showDelay = showSentAt - shownAt;
  const shown = await eventually(() => video(student), (s) => s !== undefined && s.frameWidth === 640 && s.packetsReceived > hidden, 10_000, 'the 640x360 layer after showing');
  expect(shown!.frameHeight).toBe(360);

  // (e) Off screen (IntersectionObserver), then back; (f) the tab hidden (visibilitychange), then visible.
  await restyle(student, { top: '2000px' });
  await eventually(async () => downTrack()!.paused, (paused) => paused, 5000, 'paused while off screen');
  await restyle(student, { top: '0px' });
  await eventually(async () => downTrack()!.paused, (paused) => !paused, 5000, 'resumed back on screen');
  const setTabHidden = (hidden: boolean) =>
    student.page.evaluate((hidden) => {
      if (hidden) Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => 'hidden' });
      else delete (document as unknown as { visibilityState?: unknown }).visibilityState;
      document.dispatchEvent(new Event('visibilitychange'));
    }, hidden);
  await setTabHidden(true);
  await eventually(async () => downTrack()!.paused, (paused) => paused, 5000, 'paused while the tab is hidden');
  await setTabHidden(false);
  await eventually(async () => downTrack()!.paused, (paused) => !paused, 5000, 'resumed when the tab is visible');
  const shownAgain = { enabled: true, width: 640, height: 360 };
  await eventually(trackStates, (s) => s.length === 7, 5000, 'every trackState');
  const paused = { trackId: published.id, paused: true, layer: -1 };
  const half = { trackId: published.id, paused: false, layer: 1 };
  expect(await trackStates()).toEqual([{ trackId: published.id, paused: false, layer: 0 }, paused, half, paused, half, paused, half]);
  expect((await sent(student)).filter((s) => !BURST.slice(0, -1).includes(sizeOf(s)))).toEqual([
    { enabled: true, width: 1280, height: 720 },
    { enabled: true, width: 160, height: 90 },
    { enabled: false },
    shownAgain,
    { enabled: false },
    shownAgain,
    { enabled: false },
    shownAgain,
  ]);

  // (g) Unsubscribed: the observer is stopped. A resize is seen by a new ResizeObserver (called in the same
  // rendering step as the SDK's would be), which then waits three debounce periods: nothing is sent.
  await student.page.evaluate((trackId) => (window as unknown as PageWindow).__room.unsubscribe(trackId), published.id);
  await eventually(() => student.events<{ trackId: string }>('trackUnsubscribed'), (e) => e.some((x) => x.trackId === published.id), 10_000, 'the camera unsubscribed');
  const sentBefore = (await sent(student)).length;
  await student.page.evaluate(
    () =>
      new Promise<void>((resolve) => {
        const element = (window as unknown as PageWindow).__adaptive;
        let first = true;
        const observer = new ResizeObserver(() => {
          if (first) {
            first = false; // the initial report of the current size
            Object.assign(element.style, { width: '320px', height: '180px' });
            return;
          }
          observer.disconnect();
          setTimeout(resolve, 300);
        });
        observer.observe(element);
      }),
  );
  expect((await sent(student)).length).toBe(sentBefore);
  // The function observeVideo returned may still be called, any number of times.
  await student.page.evaluate(() => {
    const w = window as unknown as PageWindow;
    w.__stopObserving();
    w.__stopObserving();
  });
  expect(await student.page.evaluate(() => (window as unknown as PageWindow).__errors)).toEqual([]);
  console.log(`adaptive-video: longest frame in the resize burst ${longestFrameMs.toFixed(1)} ms; show sent ${showDelay.toFixed(1)} ms after the style change, ${(showSentAt - appearedAt).toFixed(1)} ms from the test's IntersectionObserver report`);
});

test('observeVideo: tiles resized together go out as one trackSettings naming every track', async () => {
  // Two small cameras (a single layer each: grouping, not layer choice, is what is tested), one viewer.
  const a = await BrowserParticipant.join(browser, server, 'adaptive-grid', 'a', { width: 320, height: 240, audio: false });
  people.push(a);
  const b = await BrowserParticipant.join(browser, server, 'adaptive-grid', 'b', { width: 320, height: 240, audio: false });
  people.push(b);
  const viewer = await BrowserParticipant.join(browser, server, 'adaptive-grid', 'viewer', { video: false, audio: false });
  people.push(viewer);
  const room = server.sfu.room('adaptive-grid');
  const ids = ['a', 'b'].map((who) => [...room.participant(who)!.publishedTracks.values()][0].id);
  await eventually(
    () => viewer.events<{ trackId: string }>('trackSubscribed'),
    (e) => ids.every((id) => e.some((x) => x.trackId === id)),
    15_000,
    'both cameras subscribed',
  );
  // A grid of two tiles, observed; then both tiles resized in one task (a window resize).
  await viewer.page.evaluate((ids) => {
    const w = window as unknown as PageWindow & { __tiles: HTMLVideoElement[] };
    w.__sent = [];
    const send = WebSocket.prototype.send;
    WebSocket.prototype.send = function (this: WebSocket, data: string | ArrayBufferLike | Blob | ArrayBufferView) {
      if (typeof data === 'string') {
        const msg = JSON.parse(data) as { type: string };
        if (msg.type === 'trackSettings') w.__sent.push({ ...(msg as unknown as Sent), at: performance.now() });
      }
      return send.call(this, data);
    };
    const tracks = [...w.__room.participants.values()].flatMap((p) => [...p.tracks.values()]);
    w.__tiles = ids.map((id, i) => {
      const element = document.createElement('video');
      element.muted = true;
      element.style.cssText = `position: fixed; left: ${i * 400}px; top: 0; width: 400px; height: 300px; margin: 0; padding: 0; border: 0`;
      element.srcObject = new MediaStream([tracks.find((t) => t.trackId === id)!.track!]);
      document.body.append(element);
      w.__room.observeVideo(id, element);
      return element;
    });
  }, ids);
  const sentMessages = () => viewer.page.evaluate(() => (window as unknown as PageWindow).__sent.map(({ trackIds, enabled, width, height }) => ({ trackIds: [...trackIds].sort(), enabled, width, height })));
  // The first reports: both tiles the same size, so one message names both tracks.
  await eventually(sentMessages, (s) => s.length >= 1, 5000, 'the first trackSettings');
  expect(await sentMessages()).toEqual([{ trackIds: [...ids].sort(), enabled: true, width: 400, height: 300 }]);
  await viewer.page.evaluate(() => {
    for (const tile of (window as unknown as { __tiles: HTMLVideoElement[] }).__tiles) Object.assign(tile.style, { width: '200px', height: '150px' });
  });
  await eventually(sentMessages, (s) => s.length >= 2, 5000, 'the resize reported');
  // Give a straggler the time of two debounces to show up: there must be none.
  await new Promise((resolve) => setTimeout(resolve, 250));
  expect((await sentMessages()).slice(1)).toEqual([{ trackIds: [...ids].sort(), enabled: true, width: 200, height: 150 }]);
  for (const id of ids) expect(room.participant('viewer')!.subscriber.downTracks.get(id)!.paused).toBe(false);
});
