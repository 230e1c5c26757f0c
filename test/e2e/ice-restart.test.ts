import { afterEach, expect, test } from 'vitest';
import type { RunningServer } from '../../server/app.js';
import type { LaunchedChromium } from '../helpers/chromium.js';
import { useBrowserSuite } from '../helpers/browser-suite.js';
import { BrowserParticipant, eventually } from '../helpers/browser-participant.js';
import { reportMeasurement } from '../helpers/bench-report.js';
import { MediaPathCut } from '../helpers/media-path-cut.js';
import { metricTotal } from '../helpers/server.js';

/** This file's server's media ports: outside every other test server's (40000-49999), bots' (50000-59999) and TURN relays' (30000-39999). */
const PORT_MIN = 61000;
const PORT_MAX = 61099;

let server: RunningServer;
let browser: LaunchedChromium;
const people: BrowserParticipant[] = [];
const cut = new MediaPathCut(PORT_MIN, PORT_MAX);

useBrowserSuite(
  people,
  (s, b) => {
    server = s;
    browser = b;
  },
  { rtc: { portMin: PORT_MIN, portMax: PORT_MAX } },
);

afterEach(async () => {
  cut.restore();
  for (const p of people.splice(0)) await p.close();
  await eventually(async () => server.sfu.rooms.size, (n) => n === 0, 10_000, 'rooms to empty');
});

interface Sample {
  at: number;
  frames: number;
  videoPackets: number;
  audioPackets: number;
  /** Connections the browser reports `disconnected` (or worse) right now. */
  cut: number;
}
type SamplerWindow = Window & { __pcs: RTCPeerConnection[]; __samples: Sample[] };

/**
 * From now on the page records, every 50 ms (wall clock), the video frames it decoded, the video and audio packets it
 * received, and how many of its connections the browser reports cut.
 */
async function sampleMedia(p: BrowserParticipant): Promise<void> {
  await p.page.evaluate(() => {
    const w = window as unknown as SamplerWindow;
    w.__samples = [];
    const tick = async () => {
      let frames = 0;
      let videoPackets = 0;
      let audioPackets = 0;
      let cut = 0;
      for (const pc of w.__pcs) {
        if (pc.connectionState === 'closed') continue;
        if (pc.connectionState === 'disconnected' || pc.connectionState === 'failed') cut++;
        (await pc.getStats()).forEach((s: Record<string, unknown>) => {
          if (s.type !== 'inbound-rtp') return;
          if (s.kind === 'video') {
            frames += Number(s.framesDecoded ?? 0);
            videoPackets += Number(s.packetsReceived ?? 0);
          } else audioPackets += Number(s.packetsReceived ?? 0);
        });
      }
      w.__samples.push({ at: Date.now(), frames, videoPackets, audioPackets, cut });
      setTimeout(() => void tick(), 50);
    };
    void tick();
  });
}

const samples = (p: BrowserParticipant) => p.page.evaluate(() => (window as unknown as SamplerWindow).__samples);

interface MediaGap {
  /** From the end of the cut to the first new video frame decoded, video packet and audio packet received. */
  videoMs: number;
  videoPacketMs: number;
  audioMs: number;
  /** Whether nothing arrived during the cut (past what the jitter buffer held). */
  stoodStill: boolean;
  /** When the browser first reported a connection cut, from the start of the cut (undefined: never). */
  seenCutAfterMs?: number;
}

/** How long after `endedAt` (wall clock) media came back at `p` (the cut began at `startedAt`). */
async function mediaGap(p: BrowserParticipant, startedAt: number, endedAt: number): Promise<MediaGap> {
  const quietFrom = startedAt + BUFFERED_MS;
  const firstAfter = async (field: 'frames' | 'videoPackets' | 'audioPackets') => {
    const all = await eventually(
      () => samples(p),
      (s) => {
        const base = s.filter((x) => x.at <= endedAt).at(-1)?.[field] ?? 0;
        return s.some((x) => x.at > endedAt && x[field] > base);
      },
      10_000,
      `${p.identity}: ${field} after the cut`,
    );
    const base = all.filter((x) => x.at <= endedAt).at(-1)![field];
    return all.find((x) => x.at > endedAt && x[field] > base)!.at - endedAt;
  };
  const videoMs = await firstAfter('frames');
  const videoPacketMs = await firstAfter('videoPackets');
  const audioMs = await firstAfter('audioPackets');
  const all = await samples(p);
  const during = all.filter((x) => x.at >= quietFrom && x.at <= endedAt);
  const stoodStill = during.length > 5 && during.at(-1)!.frames === during[0].frames && during.at(-1)!.audioPackets === during[0].audioPackets;
  const seenCut = all.find((x) => x.at >= startedAt && x.cut > 0);
  return { videoMs, videoPacketMs, audioMs, stoodStill, ...(seenCut ? { seenCutAfterMs: seenCut.at - startedAt } : {}) };
}

/** What must not change when the path comes back without a rejoin: who is in the room, and their tracks. */
async function roomState(room: string) {
  const r = server.sfu.room(room);
  const state: Record<string, { sid: string; tracks: string[] }> = {};
  for (const identity of ['alice', 'bob']) {
    const participant = r.participant(identity)!;
    state[identity] = { sid: participant.sid, tracks: [...participant.publishedTracks.keys()].sort() };
  }
  return state;
}

const events = (p: BrowserParticipant, type: string) => p.events<{ type: string; peer?: string; at?: number; outageMs?: number; restarts?: number }>(type);
const countOf = async (p: BrowserParticipant, types: string[]) => (await Promise.all(types.map((t) => events(p, t)))).reduce((n, e) => n + e.length, 0);

/** Resolves once `p` decodes video and receives audio; on a timeout the error tells what its connections and SDK went through. */
async function receives(p: BrowserParticipant): Promise<void> {
  try {
    await eventually(() => p.inbound(), (s) => s.some((x) => x.kind === 'video' && x.framesDecoded > 30) && s.some((x) => x.kind === 'audio' && x.packetsReceived > 50), 20_000, `${p.identity} receives`);
  } catch (error) {
    const states = await p.page.evaluate(() => (window as unknown as SamplerWindow).__pcs.map((pc) => `${pc.connectionState}/${pc.iceConnectionState}/${pc.signalingState}`));
    const seen = await Promise.all(['reconnecting', 'reconnected', 'iceRestarting', 'iceRestarted', 'trackSubscribed', 'disconnected'].map((t) => events(p, t)));
    throw new Error(`${(error as Error).message}; connections ${JSON.stringify(states)}; events ${JSON.stringify(seen.flat())}`);
  }
}

/** Two participants with camera and microphone, each receiving the other's video and audio, and sampling it. */
async function twoPeople(room: string): Promise<[BrowserParticipant, BrowserParticipant]> {
  const alice = await BrowserParticipant.join(browser, server, room, 'alice');
  people.push(alice);
  const bob = await BrowserParticipant.join(browser, server, room, 'bob');
  people.push(bob);
  for (const p of [alice, bob]) {
    await receives(p);
    await sampleMedia(p);
  }
  return [alice, bob];
}

/** Cuts the server's media ports for `ms`; returns when the cut began and ended (wall clock). */
async function cutFor(ms: number): Promise<{ startedAt: number; endedAt: number }> {
  const startedAt = Date.now();
  cut.cut();
  try {
    await new Promise((resolve) => setTimeout(resolve, ms));
    expect(cut.dropped()).toBeGreaterThan(0);
  } finally {
    cut.restore();
  }
  return { startedAt, endedAt: Date.now() };
}

const MEDIA_BACK_WITHIN_MS = 2000;
/**
 * After a cut long enough for ICE restarts, connections and audio are back within MEDIA_BACK_WITHIN_MS (at most 0.7 s
 * in 30 runs under load), but the first decoded video frame took 0.5-3.4 s: the publisher's layers come back at the
 * SFU at once, the key frame for the layer a subscriber switches to sometimes seconds later. Not understood yet.
 */
const VIDEO_BACK_AFTER_RESTARTS_MS = 4000;
/** Chromium's jitter buffer may still play what it holds for a moment after the cut begins. */
const BUFFERED_MS = 1000;

for (const { cutMs, restarts } of [
  { cutMs: 3000, restarts: false },
  // Chromium reports `disconnected` 5 to 7 s into a cut; the SDK restarts 1 s later.
  { cutMs: 10_000, restarts: true },
]) {
  test(`a ${cutMs / 1000} s cut of the media path: ${restarts ? `audio comes back within ${MEDIA_BACK_WITHIN_MS / 1000} s of its end and video within ${VIDEO_BACK_AFTER_RESTARTS_MS / 1000} s` : `media comes back within ${MEDIA_BACK_WITHIN_MS / 1000} s of its end`}, without a rejoin${restarts ? ', through ICE restarts of both connections' : ''}`, async () => {
    const room = `cut-${cutMs}`;
    const [alice, bob] = await twoPeople(room);
    const before = await roomState(room);
    const roomEvents = ['trackSubscribed', 'trackUnsubscribed', 'participantJoined', 'participantLeft', 'reconnecting', 'reconnected', 'disconnected'];
    const eventsBefore = await Promise.all([alice, bob].map((p) => countOf(p, roomEvents)));
    const restartsBefore = await metricTotal(server, 'tsfu_sfu_ice_restarts_total');

    const { startedAt, endedAt } = await cutFor(cutMs);
    const gaps = { alice: await mediaGap(alice, startedAt, endedAt), bob: await mediaGap(bob, startedAt, endedAt) };
    const restartEvents = { alice: await events(alice, 'iceRestarting'), bob: await events(bob, 'iceRestarting') };
    const restarted = { alice: await events(alice, 'iceRestarted'), bob: await events(bob, 'iceRestarted') };
    console.log(`[ice-restart e2e] cut ${cutMs} ms; media gap after the cut ended (ms): ${JSON.stringify(gaps)}; ICE restarts asked by the SDK: ${JSON.stringify(restartEvents)}; restored: ${JSON.stringify(restarted)}; server ICE restarts: ${(await metricTotal(server, 'tsfu_sfu_ice_restarts_total')) - restartsBefore}`);

    // `npm run bench:cluster` collects it: the cut that needs restarts.
    if (restarts) reportMeasurement('ice_restart_media_gap_ms', Math.max(...Object.values(gaps).map((g) => Math.max(g.videoMs, g.audioMs))));
    for (const [who, gap] of Object.entries(gaps)) {
      expect(gap.stoodStill, `${who}'s media stopped during the cut`).toBe(true);
      expect(gap.videoMs, `${who}'s video gap after the cut`).toBeLessThanOrEqual(restarts ? VIDEO_BACK_AFTER_RESTARTS_MS : MEDIA_BACK_WITHIN_MS);
      expect(gap.audioMs, `${who}'s audio gap after the cut`).toBeLessThanOrEqual(MEDIA_BACK_WITHIN_MS);
    }
    // The same session: the same participants (sids) with the same tracks, and no event about them or about a rejoin.
    expect(await roomState(room)).toEqual(before);
    expect(await Promise.all([alice, bob].map((p) => countOf(p, roomEvents)))).toEqual(eventsBefore);
    if (restarts) {
      // Cut for longer than the browser waits before it reports `disconnected` plus the SDK's grace time: every
      // connection restarted ICE (each participant publishes and subscribes), and each came back.
      for (const [who, list] of Object.entries(restartEvents)) expect(list.map((e) => e.peer).sort(), `${who}'s restarts`).toEqual(['publisher', 'subscriber']);
      for (const [who, list] of Object.entries(restarted)) expect(list.map((e) => e.peer).sort(), `${who}'s restored connections`).toEqual(['publisher', 'subscriber']);
      expect(await metricTotal(server, 'tsfu_sfu_ice_restarts_total', 'peer="publisher"')).toBeGreaterThanOrEqual(2);
      expect(await metricTotal(server, 'tsfu_sfu_ice_restarts_total', 'peer="subscriber"')).toBeGreaterThanOrEqual(2);
    }
  });
}

test('ICE restarts that do not bring a connection back within iceRestartTimeoutMs fall back to joining again', async () => {
  const room = 'cut-rejoin';
  // Alice gives her restarts 1.5 s; Bob the default 10 s, which outlasts the cut.
  const alice = await BrowserParticipant.join(browser, server, room, 'alice', { iceRestartTimeoutMs: 1500 });
  people.push(alice);
  const bob = await BrowserParticipant.join(browser, server, room, 'bob');
  people.push(bob);
  for (const p of [alice, bob]) await receives(p);
  const aliceSid = server.sfu.room(room).participant('alice')!.sid;
  await sampleMedia(bob);

  // Chromium reports the cut 5 to 7 s in; Alice restarts 1 s later, and gives up 1.5 s after that, well within the cut.
  const { endedAt } = await cutFor(12_000);
  const reconnecting = await eventually(() => events(alice, 'reconnecting'), (e) => e.length > 0, 5000, 'alice joins again');
  expect(reconnecting[0]).toMatchObject({ code: 0, reason: expect.stringMatching(/^(publisher|subscriber)-connection-failed$/) });
  const restarting = await events(alice, 'iceRestarting');
  expect(restarting.length).toBeGreaterThan(0);
  expect(restarting[0].at!).toBeLessThan(reconnecting[0].at!);
  await eventually(() => events(alice, 'reconnected'), (e) => e.length > 0, 15_000, 'alice joined again');
  // A new participant (sid) for Alice; Bob kept his session, and receives Alice's new tracks.
  expect(server.sfu.room(room).participant('alice')!.sid).not.toBe(aliceSid);
  expect(await events(bob, 'reconnecting')).toEqual([]);
  // Alice's new video track (a new subscription: its frame counter starts from zero) decoded at Bob's.
  const newTrack = server.sfu.room(room).participant('alice')!.snapshot().tracks.find((t) => t.kind === 'video')!.trackId;
  await eventually(() => bob.inbound(), (s) => s.some((x) => x.kind === 'video' && x.trackIdentifier === newTrack && x.framesDecoded > 30), 15_000, "bob decodes alice's new video track");
  // Alice's new connections (her old ones are closed, and inbound() skips them).
  await eventually(() => alice.inbound(), (s) => s.some((x) => x.kind === 'video' && x.framesDecoded > 30), 15_000, "alice decodes bob's video again");
  console.log(`[ice-restart e2e] rejoin fallback: alice restarted at ${JSON.stringify(restarting.map((e) => e.at! - endedAt))} ms, rejoined at ${reconnecting[0].at! - endedAt} ms (relative to the cut's end)`);
});
