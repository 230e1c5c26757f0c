import type { Page } from 'playwright-core';
import type { LaunchedChromium } from '../../test/helpers/chromium.js';
import { testToken } from '../../test/helpers/signaling-client.js';
import type { JoinTimeline } from './first-frame-subscriber.js';

/**
 * Page code, as text so no bundler helper leaks into it. Speaks docs/PROTOCOL.md directly with one
 * RTCPeerConnection per role (what the SDK does, without its UI). `window.__ff` holds milliseconds after
 * WebSocket open; the first decoded frame is the first `requestVideoFrameCallback` of a <video> showing the
 * subscribed track, or the first `framesDecoded > 0` in getStats (polled every 10 ms), whichever comes first.
 */
const PAGE_SCRIPT = String.raw`
window.__tsfuJoin = (url, room, token, publish) => {
  const t = {};
  window.__ff = t;
  let openedAt = 0;
  const at = () => performance.now() - openedAt;
  const ws = new WebSocket(url);
  const send = (m) => ws.readyState === 1 && ws.send(JSON.stringify(m));
  const subscriber = new RTCPeerConnection();
  subscriber.onicecandidate = (e) => e.candidate && send({ type: 'trickle', target: 'subscriber', candidate: e.candidate.toJSON() });
  subscriber.onconnectionstatechange = () => { if (subscriber.connectionState === 'connected') t.connected ??= at(); };
  const frame = () => { t.firstFrame ??= at(); };
  subscriber.ontrack = (e) => {
    if (e.track.kind !== 'video') return;
    const video = document.createElement('video');
    video.muted = true;
    video.autoplay = true;
    video.srcObject = new MediaStream([e.track]);
    document.body.append(video);
    video.play().catch(() => undefined);
    if (video.requestVideoFrameCallback) video.requestVideoFrameCallback(frame);
    const poll = setInterval(async () => {
      if (t.firstFrame !== undefined || subscriber.connectionState === 'closed') return clearInterval(poll);
      const stats = await subscriber.getStats(e.track);
      stats.forEach((s) => { if (s.type === 'inbound-rtp' && s.kind === 'video') { if (s.packetsReceived > 0) t.firstRtp ??= at(); if (s.framesDecoded > 0) frame(); } });
    }, 10);
  };
  let publisher;
  ws.onopen = () => {
    openedAt = performance.now();
    send({ type: 'join', room, token });
  };
  ws.onmessage = async (event) => {
    const m = JSON.parse(event.data);
    if (m.type === 'joined') {
      t.joined ??= at();
      if (publish) {
        const stream = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480, frameRate: 30 }, audio: false });
        publisher = new RTCPeerConnection();
        publisher.onicecandidate = (e) => e.candidate && send({ type: 'trickle', target: 'publisher', candidate: e.candidate.toJSON() });
        const transceiver = publisher.addTransceiver(stream.getVideoTracks()[0], { direction: 'sendonly' });
        await publisher.setLocalDescription(await publisher.createOffer());
        send({ type: 'publishOffer', sdp: publisher.localDescription.sdp, tracks: [{ mid: transceiver.mid, source: 'camera' }] });
      }
    } else if (m.type === 'publishAnswer') {
      await publisher.setRemoteDescription({ type: 'answer', sdp: m.sdp });
      t.published = at();
    } else if (m.type === 'subscriberOffer') {
      t.offer ??= at();
      await subscriber.setRemoteDescription({ type: 'offer', sdp: m.sdp });
      await subscriber.setLocalDescription(await subscriber.createAnswer());
      send({ type: 'subscriberAnswer', sdp: subscriber.localDescription.sdp });
    } else if (m.type === 'trickle') {
      const pc = m.target === 'publisher' ? publisher : subscriber;
      await pc?.addIceCandidate(m.candidate).catch(() => undefined);
    }
  };
  window.__tsfuLeave = () => { ws.close(); subscriber.close(); publisher?.close(); };
};
`;

async function open(browser: LaunchedChromium, url: string, room: string, identity: string, publish: boolean): Promise<Page> {
  const page = await browser.context.newPage();
  // On the server's own origin (127.0.0.1 is a secure context): Chromium's local network access checks block a
  // WebSocket to 127.0.0.1 from a page of another origin.
  await page.goto(url.replace(/^ws/, 'http').replace(/\/v1\/rtc$/, '/healthz'));
  await page.addScriptTag({ content: PAGE_SCRIPT });
  const token = await testToken({ room, identity, grants: { canPublish: publish } });
  await page.evaluate(([u, r, t, p]) => (window as unknown as { __tsfuJoin(...a: unknown[]): void }).__tsfuJoin(u, r, t, p), [url, room, token, publish] as const);
  return page;
}

/** A Chromium tab publishing its fake camera (VP8, 640×480, 30 fps) in `room`; resolves once published. */
export async function startChromiumPublisher(browser: LaunchedChromium, url: string, room: string, identity: string): Promise<Page> {
  const page = await open(browser, url, room, identity, true);
  await page.waitForFunction(() => (window as unknown as { __ff: { published?: number } }).__ff.published !== undefined, undefined, { timeout: 20_000 });
  return page;
}

/** Joins `room` from a fresh Chromium tab, waits for the first decoded video frame and returns the timeline. */
export async function chromiumFirstFrame(browser: LaunchedChromium, url: string, room: string, identity: string, timeoutMs = 15_000): Promise<JoinTimeline> {
  const page = await open(browser, url, room, identity, false);
  try {
    await page.waitForFunction(() => (window as unknown as { __ff: { firstFrame?: number } }).__ff.firstFrame !== undefined, undefined, { timeout: timeoutMs, polling: 20 });
    return (await page.evaluate(() => (window as unknown as { __ff: JoinTimeline }).__ff)) as JoinTimeline;
  } finally {
    await page.evaluate(() => (window as unknown as { __tsfuLeave(): void }).__tsfuLeave()).catch(() => undefined);
    await page.close().catch(() => undefined);
  }
}
