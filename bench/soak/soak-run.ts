/**
 * The soak (`npm run soak -- --minutes N`, and a 2-minute version in `npm test`): the server in its own process
 * (bench/lib/server-process.ts, with --expose-gc), rooms of werift bots in this one that join, publish, subscribe,
 * send data and leave on a schedule while media flows, then everyone leaves. It measures the server's memory,
 * handles and timers, the SFU's object counts once all have left, and exact media delivery per 5-second window.
 */
import { Bot, waitUntil } from '../../test/helpers/bot.js';
import { ServerHandle } from '../lib/handles.js';
import type { ServerInspection } from '../lib/server-process.js';
import { FORWARDED_PACKETS } from '../lib/server-process.js';
import { sleep } from '../lib/stats.js';
import { DataLedger, type DataReport } from './data-ledger.js';
import { DeliveryLedger, type DeliveryReport } from './delivery-ledger.js';
import { SoakRoom } from './soak-room.js';

export interface SoakOptions {
  minutes: number;
  rooms: number;
  participantsPerRoom: number;
  videoPublishersPerRoom: number;
  /** Video RTP packets per second per video track (audio is 50). */
  videoPps: number;
  /** Each room has one participant leave and rejoin this often (rooms staggered). */
  churnIntervalMs: number;
  rejoinDelayMs: number;
  dataIntervalMs: number;
  /** How often the server's memory is read during the run (without a forced GC). */
  sampleIntervalMs: number;
  /** Progress lines; silent when absent. */
  log?: (line: string) => void;
}

export const defaultSoakOptions: SoakOptions = {
  minutes: 2,
  rooms: 3,
  participantsPerRoom: 5,
  videoPublishersPerRoom: 2,
  videoPps: 150,
  churnIntervalMs: 20_000,
  rejoinDelayMs: 2_000,
  dataIntervalMs: 1_000,
  sampleIntervalMs: 10_000,
};

/** Handle kinds whose count must come back to the baseline once everyone has left. */
export const COUNTED_RESOURCES = ['UDPWrap', 'TCPSocketWrap', 'Timeout'] as const;

export interface SoakResult {
  options: SoakOptions;
  /** Warm-up: the first 20 % of the run or 2 minutes, whichever is shorter. */
  warmupMs: number;
  mediaMs: number;
  /** Server readings: at start, after a priming join/leave (the leak baseline), after warm-up, at the end with everyone in, after everyone left (all after a forced GC). */
  server: { start: ServerInspection; baseline: ServerInspection; warm: ServerInspection; end: ServerInspection; afterLeave: ServerInspection };
  /** RSS (bytes) read every sampleIntervalMs during the media phase. */
  rssSamples: number[];
  serverCpuPercent: number;
  counters: Record<string, number>;
  leaked: { objects: number; detail: Record<string, number> };
  delivery: DeliveryReport;
  data: DataReport;
  churns: number;
  joins: number;
  /** Join failures, signaling errors and connections that failed while their participant was in. */
  errors: string[];
  /** Each stay's connections and negotiation when it left, by `room/identity#stay`. */
  participantStates: Record<string, string>;
  /** The most m-lines any subscriber offer had (media m-lines plus the data m-line). */
  maxOfferMLines: number;
  /** This (bots') process's handles and timers at start and after everyone left, for information. */
  botsResources: { start: Record<string, number>; afterLeave: Record<string, number> };
}

const COUNTERS = [FORWARDED_PACKETS, 'tsfu_sfu_nacks_received_total', 'tsfu_sfu_retransmitted_packets_total', 'tsfu_sfu_plis_sent_total'] as const;

export function resourceCounts(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const kind of process.getActiveResourcesInfo()) counts[kind] = (counts[kind] ?? 0) + 1;
  return counts;
}

/** What is still there after everyone left, compared with the baseline: SFU objects, sessions, extra handles. */
export function leftovers(now: ServerInspection, baseline: ServerInspection): { objects: number; detail: Record<string, number> } {
  const detail: Record<string, number> = {
    rooms: now.sfu.rooms.length,
    participants: now.sfu.participants,
    publishedTracks: now.sfu.publishedTracks,
    downTracks: now.sfu.downTracks,
    peerConnections: now.sfu.peerConnections,
    signalingSessions: now.signalingSessions,
  };
  for (const kind of COUNTED_RESOURCES) detail[kind] = Math.max(0, (now.resources[kind] ?? 0) - (baseline.resources[kind] ?? 0));
  return { objects: Object.values(detail).reduce((a, b) => a + b, 0), detail };
}

/** One publisher and one subscriber join and leave, so process-wide resources created on first use exist before the baseline. */
async function prime(server: ServerHandle): Promise<void> {
  const teacher = await Bot.join(server.signalingUrl, 'soak-prime', 'teacher');
  const student = await Bot.join(server.signalingUrl, 'soak-prime', 'student');
  await teacher.publish({ videoKbps: 300 });
  await student.receivesTracks(2, 20);
  await Promise.all([teacher.close(), student.close()]);
}

const AFTER_LEAVE_SETTLE_MS = 40_000;

async function settle(server: ServerHandle, baseline: ServerInspection, timeoutMs: number): Promise<ServerInspection> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const now = await server.inspect();
    if (leftovers(now, baseline).objects === 0 || performance.now() > deadline) return server.inspect({ gc: true });
    await sleep(500);
  }
}

export async function runSoak(overrides: Partial<SoakOptions> = {}): Promise<SoakResult> {
  const options: SoakOptions = { ...defaultSoakOptions, ...overrides };
  const log = options.log ?? (() => undefined);
  const mediaMs = options.minutes * 60_000;
  const warmupMs = Math.min(mediaMs * 0.2, 120_000);
  const botsStart = resourceCounts();
  const server = await ServerHandle.start({ exposeGc: true });
  const rooms: SoakRoom[] = [];
  try {
    const start = await server.inspect({ gc: true });
    await prime(server);
    const baseline = await settle(server, start, 15_000);
    log(`server up (rss ${mb(start.memory.rss)} MB); baseline after priming: rss ${mb(baseline.memory.rss)} MB`);

    const origin = performance.now();
    const media = new DeliveryLedger(origin);
    const data = new DataLedger();
    for (let r = 0; r < options.rooms; r++) {
      rooms.push(
        new SoakRoom(
          {
            id: `soak-${r}`,
            participants: options.participantsPerRoom,
            videoPublishers: options.videoPublishersPerRoom,
            videoPps: options.videoPps,
            dataIntervalMs: options.dataIntervalMs,
            rejoinDelayMs: options.rejoinDelayMs,
          },
          server.signalingUrl,
          media,
          data,
        ),
      );
    }
    for (const room of rooms) await room.fill();
    log(`${options.rooms} rooms × ${options.participantsPerRoom} participants joined in ${Math.round(performance.now() - origin)} ms`);
    const counterBefore = (await server.inspect({ counters: COUNTERS })).counters;
    const cpuBefore = await server.sample();
    const mediaStart = performance.now();

    // Churn: each room in turn, staggered so one leave/rejoin happens every churnIntervalMs / rooms.
    let churning = true;
    let stopChurn!: () => void;
    const churnStopped = new Promise<void>((resolve) => (stopChurn = resolve));
    const pause = (ms: number) => Promise.race([sleep(ms), churnStopped]);
    const churnLoops = rooms.map(async (room, r) => {
      await pause(((r + 1) * options.churnIntervalMs) / options.rooms);
      while (churning) {
        const began = performance.now();
        await room.churn();
        await pause(Math.max(0, options.churnIntervalMs - (performance.now() - began)));
      }
    });

    const rssSamples: number[] = [];
    let warm: ServerInspection | undefined;
    while (performance.now() - mediaStart < mediaMs) {
      const elapsed = performance.now() - mediaStart;
      await sleep(Math.min(options.sampleIntervalMs, mediaMs - elapsed, warm ? Infinity : Math.max(0, warmupMs - elapsed)));
      const at = performance.now() - mediaStart;
      if (!warm && at >= warmupMs) {
        warm = await server.inspect({ gc: true });
        log(`warm-up done at ${s(at)} s: rss ${mb(warm.memory.rss)} MB, heap ${mb(warm.memory.heapUsed)} MB`);
      } else {
        const sample = await server.inspect();
        rssSamples.push(sample.memory.rss);
        const report = media.report(performance.now());
        log(`${s(at)} s: rss ${mb(sample.memory.rss)} MB, heap ${mb(sample.memory.heapUsed)} MB, ${sample.sfu.participants} in, ${sample.sfu.downTracks} down tracks, windows ${report.windows}, worst ${report.worst ? report.worst.pct.toFixed(1) : '-'} %`);
      }
    }
    churning = false;
    stopChurn();
    await Promise.all(churnLoops);
    const cpuAfter = await server.sample();
    const cpuSeconds = (performance.now() - mediaStart) / 1000;
    const end = await server.inspect({ gc: true, counters: COUNTERS });
    const counterAfter = end.counters;
    log(`media phase over: rss ${mb(end.memory.rss)} MB, heap ${mb(end.memory.heapUsed)} MB; everyone leaves`);

    for (const room of rooms) await room.leaveAll();
    const leftAt = performance.now();
    // Up to 40 s: a participant who left during its DTLS handshake leaves werift resending that flight for up to
    // ~33 s (RTCDtlsTransport.start → Flight.transmit, 11 sends 0.5–5.5 s apart; sfu/peer/werift-peer-internals.ts).
    // Bounded, so it must be gone by then; anything still there after that is a leak.
    const afterLeave = await settle(server, baseline, AFTER_LEAVE_SETTLE_MS);
    const delivery = media.report(leftAt);
    const dataReport = data.report(leftAt);
    const counters: Record<string, number> = {};
    for (const name of COUNTERS) counters[name] = counterAfter[name] - counterBefore[name];
    // Handles of the bots' own werift peers close asynchronously too.
    await waitUntil(() => (resourceCounts().UDPWrap ?? 0) <= (botsStart.UDPWrap ?? 0), 10_000, 'bot sockets closed').catch(() => undefined);
    return {
      options,
      warmupMs,
      mediaMs,
      server: { start, baseline, warm: warm ?? end, end, afterLeave },
      rssSamples,
      serverCpuPercent: ((cpuAfter.cpuSeconds - cpuBefore.cpuSeconds) / cpuSeconds) * 100,
      counters,
      leaked: leftovers(afterLeave, baseline),
      delivery,
      data: dataReport,
      churns: rooms.reduce((n, room) => n + room.churns, 0),
      joins: rooms.reduce((n, room) => n + room.participants.length, 0),
      errors: rooms.flatMap((room) => room.problems),
      maxOfferMLines: Math.max(0, ...rooms.flatMap((room) => room.participants.map((p) => p.maxOfferMLines))),
      participantStates: Object.fromEntries(rooms.flatMap((room) => room.participants.map((p) => [p.key, p.stateAtLeave]))),
      botsResources: { start: botsStart, afterLeave: resourceCounts() },
    };
  } finally {
    for (const room of rooms) await room.leaveAll().catch(() => undefined);
    await server.stop();
  }
}

const mb = (bytes: number) => (bytes / 2 ** 20).toFixed(1);
const s = (ms: number) => (ms / 1000).toFixed(0);
