/**
 * A full classroom: N werift bots (default 100) join one room `--spacing` ms apart, each publishing camera and
 * microphone (negotiated, no RTP: negotiation is what is measured) and answering its subscriber offers' audio and
 * video m-lines as text (test/helpers/text-answerer.ts: a werift client spends ~40 ms on a 200-m-line offer, and 99
 * of them per join on this 2-core machine measured the bots, not the server). The server runs in a process of its own
 * (bench/lib/full-room-server.ts) and the bots are spread over `--bot-processes` more (bench/lib/full-room-bots.ts),
 * so the server's CPU, RSS and event-loop delay (perf_hooks.monitorEventLoopDelay) are its own, and no single bot
 * process does every bot's SDP work (which starved their ICE consent checks into failures).
 *
 *   npx tsx bench/full-room.ts [--participants 100] [--spacing 400] [--steady 20] [--bot-processes 4]
 *
 * TSFU_BENCH_JOIN_DETAIL=1 prints each join's timings to stderr; TSFU_BENCH_CPU_PROFILE_DIR=dir writes the server's CPU profile there;
 * TSFU_BENCH_SERVER_HEAP_SNAPSHOT=file writes its steady-state heap; TSFU_BENCH_SERVER_NODE_FLAGS adds node flags to
 * the server process (e.g. "--trace-gc"); TSFU_BENCH_SERVER_STALL_LOG=ms logs each of its event-loop gaps over ms, with
 * its main thread's time running and waiting for a core (Linux schedstat) and the hrtime window to look up in a
 * CPU profile.
 *
 * Prints `name: value` lines: join → converged p50/p99/max (a join has converged when the joiner's publish is
 * answered, the joiner has negotiated every track published before it joined, and everyone already there has
 * negotiated the joiner's tracks), the server's largest event-loop stall (and how much of it its main thread ran, and how much it waited for a core
 * the bots held), RSS and CPU, RSS growth in steady state,
 * failed connections, the signaling errors the bots received, and the bot processes' CPU and stalls.
 */
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Child } from './lib/child.js';
import type { BotsReply, BotsRequest } from './lib/full-room-bots.js';
import type { FullRoomServerReply, FullRoomServerRequest } from './lib/full-room-server.js';

const { values } = parseArgs({
  options: {
    participants: { type: 'string', default: '100' },
    spacing: { type: 'string', default: '400' },
    steady: { type: 'string', default: '20' },
    'bot-processes': { type: 'string', default: '4' },
  },
});
const participants = Number(values.participants);
const spacingMs = Number(values.spacing);
const steadySeconds = Number(values.steady);
const botProcesses = Math.max(1, Number(values['bot-processes']));
const entry = (path: string) => fileURLToPath(new URL(path, import.meta.url));
const now = () => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const { child: server, ready } = await Child.start<FullRoomServerRequest, FullRoomServerReply>(entry('./lib/full-room-server.ts'), [], [
  '--expose-gc',
  ...(process.env.TSFU_BENCH_CPU_PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.TSFU_BENCH_CPU_PROFILE_DIR}`] : []),
  ...(process.env.TSFU_BENCH_SERVER_NODE_FLAGS?.split(' ').filter(Boolean) ?? []),
]);
const signalingUrl = (ready as Extract<FullRoomServerReply, { type: 'ready' }>).signalingUrl;
const onServerExit = (code: number | null) => {
  console.error(`the server process exited (${code}) before the benchmark ended`);
  process.exit(1);
};
server.process.once('exit', onServerExit);
const sampleServer = (resetLoop = false) => server.ask({ type: 'sample', resetLoop }, 'sample');

const botChildren = await Promise.all(
  Array.from({ length: botProcesses }, async () => (await Child.start<BotsRequest, BotsReply>(entry('./lib/full-room-bots.ts'), [])).child),
);

interface Joiner {
  startedAt: number;
  publishedAt?: number;
  failedAt?: number;
  convergedAt?: number;
  /** Participants that had published when this one started joining. */
  before: number[];
}
const joiners: Joiner[] = [];
/** `${bot}:${publisher}` → when `bot` had negotiated every track of `publisher`. */
const negotiated = new Map<string, number>();
const failures = new Map<string, number>();
for (const bots of botChildren) {
  bots.process.on('message', (m: BotsReply) => {
    if (m.type === 'published') {
      joiners[m.index].publishedAt = m.at;
      for (const other of botChildren) other.process.send({ type: 'tracks', index: m.index, tracks: m.tracks } satisfies BotsRequest);
    } else if (m.type === 'negotiated') negotiated.set(`${m.bot}:${m.publisher}`, m.at);
    else if (m.type === 'failed') {
      joiners[m.index].failedAt = m.at;
      failures.set(`${m.code}: ${m.message}`, (failures.get(`${m.code}: ${m.message}`) ?? 0) + 1);
    } else if (m.type === 'joinError') console.error(`participant ${m.index}: ${m.message}`);
  });
}

/** When joiner `i` converged, or undefined while it has not. */
function convergedAt(i: number): number | undefined {
  const joiner = joiners[i];
  if (joiner.publishedAt === undefined) return undefined;
  let at = joiner.publishedAt;
  for (const j of joiner.before) {
    if (joiners[j].failedAt !== undefined) continue;
    const mine = negotiated.get(`${i}:${j}`);
    const theirs = negotiated.get(`${j}:${i}`);
    if (mine === undefined || theirs === undefined) return undefined;
    at = Math.max(at, mine, theirs);
  }
  return at;
}

await sampleServer(true); // the stall measurement starts with the room, not the server's start-up
const { cpuMicros: cpuStart, gcMs: gcStart } = await sampleServer();
const startedAt = now();
let peakRss = 0;
const sampling = setInterval(() => void sampleServer().then((s) => (peakRss = Math.max(peakRss, s.rssBytes))), 500);
for (let i = 0; i < participants; i++) {
  joiners.push({ startedAt: now(), before: joiners.flatMap((j, index) => (j.publishedAt !== undefined && j.failedAt === undefined ? [index] : [])) });
  botChildren[i % botProcesses].process.send({ type: 'join', index: i, signalingUrl, room: 'classroom' } satisfies BotsRequest);
  await sleep(spacingMs);
}
const deadline = now() + 120_000;
const pending = () => joiners.some((j) => j.convergedAt === undefined && j.failedAt === undefined);
while (now() < deadline && pending()) {
  joiners.forEach((j, i) => (j.convergedAt ??= j.failedAt === undefined ? convergedAt(i) : undefined));
  await sleep(50);
}
clearInterval(sampling);
const allConvergedMs = now() - startedAt;
const settled = await sampleServer(true);
const cpuSeconds = (settled.cpuMicros - cpuStart) / 1e6;
const botsSettled = await Promise.all(botChildren.map((b) => b.ask({ type: 'sample' }, 'sample')));

// Steady state: nobody joins or leaves; memory should stay flat and the loop quiet. The heap is read after a full
// collection at both ends (RSS alone moves with when V8 last collected); the collection's own stall is not counted.
const heapUsed = async () => (await server.ask({ type: 'heap' }, 'heap')).heapUsedBytes;
const heapStart = await heapUsed();
const rssStart = (await sampleServer(true)).rssBytes;
await sleep(steadySeconds * 1000);
const steady = await sampleServer();
const heapEnd = await heapUsed();
const botsSteady = await Promise.all(botChildren.map((b) => b.ask({ type: 'sample' }, 'sample')));

const failedCount = joiners.filter((j) => j.failedAt !== undefined).length;
const times = joiners.filter((j) => j.convergedAt !== undefined).map((j) => j.convergedAt! - j.startedAt).sort((a, b) => a - b);
const pct = (p: number) => (times.length ? times[Math.min(times.length - 1, Math.floor((p / 100) * times.length))] : NaN);
const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(0);
const errors = new Map<string, number>();
for (const s of botsSteady) for (const [code, n] of Object.entries(s.errors)) errors.set(code, (errors.get(code) ?? 0) + n);
const botCpu = botsSettled.reduce((sum, s) => sum + s.cpuMicros, 0) / 1e6;
const lines: [string, string | number][] = [
  ['participants', participants],
  ['join_spacing_ms', spacingMs],
  ['bot_processes', botProcesses],
  ['joins_converged', `${times.length}/${participants - failedCount} (not counting participants the server reported failed)`],
  ['join_converged_p50_ms', pct(50).toFixed(0)],
  ['join_converged_p99_ms', pct(99).toFixed(0)],
  ['join_converged_max_ms', (times.at(-1) ?? NaN).toFixed(0)],
  ['joins_over_2s', times.filter((t) => t > 2000).length],
  ['room_converged_ms', allConvergedMs.toFixed(0)],
  ['subscriber_offers', botsSteady.reduce((n, s) => n + s.offers, 0)],
  ['server_max_event_loop_stall_ms', settled.maxStallMs.toFixed(0)],
  ['server_p99_event_loop_delay_ms', settled.p99StallMs.toFixed(0)],
  ['server_cpu_ms_during_longest_stall', settled.maxStallCpuMs.toFixed(0)],
  ['server_gc_ms_during_longest_stall', settled.maxStallGcMs.toFixed(0)],
  ['server_main_thread_run_ms_during_longest_stall', settled.maxStallMainRunMs.toFixed(0)],
  ['server_main_thread_wait_ms_during_longest_stall', settled.maxStallMainWaitMs.toFixed(0)],
  ['server_max_main_thread_run_between_ticks_ms', settled.maxMainRunMs.toFixed(0)],
  ['server_max_gc_pause_ms', settled.maxGcPauseMs.toFixed(0)],
  ['server_gc_seconds_during_joins', ((settled.gcMs - gcStart) / 1000).toFixed(1)],
  ['server_cpu_seconds_during_joins', cpuSeconds.toFixed(1)],
  ['server_cpu_ms_per_subscriber_offer', ((cpuSeconds * 1000) / Math.max(1, botsSteady.reduce((n, s) => n + s.offers, 0))).toFixed(0)],
  ['server_cpu_percent_during_joins', ((cpuSeconds / (allConvergedMs / 1000)) * 100).toFixed(0)],
  ['server_rss_peak_mib', mib(peakRss)],
  ['server_rss_steady_start_mib', mib(rssStart)],
  ['server_rss_steady_end_mib', mib(steady.rssBytes)],
  ['server_rss_steady_growth_mib_per_s', ((steady.rssBytes - rssStart) / 2 ** 20 / steadySeconds).toFixed(2)],
  ['server_heap_after_gc_steady_start_mib', mib(heapStart)],
  ['server_heap_after_gc_steady_end_mib', mib(heapEnd)],
  ['server_heap_after_gc_steady_growth_mib_per_s', ((heapEnd - heapStart) / 2 ** 20 / steadySeconds).toFixed(3)],
  ['server_cpu_percent_steady', (((steady.cpuMicros - settled.cpuMicros) / 1e6 / steadySeconds) * 100).toFixed(0)],
  ['server_max_event_loop_stall_steady_ms', steady.maxStallMs.toFixed(0)],
  ['bots_cpu_seconds_total', botCpu.toFixed(1)],
  ['bots_max_event_loop_stall_ms', Math.max(...botsSettled.map((s) => s.maxStallMs)).toFixed(0)],
  ['bots_rss_total_mib', mib(botsSteady.reduce((n, s) => n + s.rssBytes, 0))],
  ['participants_failed_and_told', `${failedCount} (reported by the server: CONNECTION_FAILED, NEGOTIATION_FAILED, or a closed signaling socket)`],
  ['signaling_errors', errors.size ? [...errors].map(([code, n]) => `${code}=${n}`).join(',') : 'none'],
];
for (const [name, value] of lines) console.log(`${name}: ${value}`);
if (process.env.TSFU_BENCH_JOIN_DETAIL === '1') {
  // Per join: total, then what came last: its publish answered, it negotiating others' tracks, or others its tracks.
  joiners.forEach((j, i) => {
    const at = (t?: number) => (t === undefined ? '-' : (t - j.startedAt).toFixed(0));
    const mine = Math.max(...j.before.map((k) => negotiated.get(`${i}:${k}`) ?? 0), 0);
    const theirs = Math.max(...j.before.map((k) => negotiated.get(`${k}:${i}`) ?? 0), 0);
    const last = j.before.find((k) => negotiated.get(`${k}:${i}`) === theirs);
    console.error(`join ${i}: converged ${at(j.convergedAt)} published ${at(j.publishedAt)} received-all ${at(mine || undefined)} sent-to-all ${at(theirs || undefined)} (last: ${last ?? '-'})`);
  });
}
for (const [message, n] of [...failures].slice(0, 10)) console.error(`failure seen (${n}): ${message}`);
for (const message of new Set(botsSteady.flatMap((s) => s.errorMessages))) console.error(`error seen: ${message}`);

await Promise.all(botChildren.map((b) => b.stop({ type: 'stop' })));
server.process.off('exit', onServerExit);
await server.stop({ type: 'stop' });
process.exit(0);
