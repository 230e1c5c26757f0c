/**
 * The SFU server of the full-room benchmark in a process of its own, so its CPU, RSS and event-loop delay
 * (perf_hooks.monitorEventLoopDelay, 10 ms resolution) are its own and not the bots'. Sends `ready` once
 * listening; answers `sample` (with `resetLoop`, the delay histogram starts again after the reading) and `heap` (the
 * heap used after a full garbage collection); exits on
 * `stop` (a clean exit, so `--cpu-prof` writes its profile).
 */
import { createHook } from 'node:async_hooks';
import { readFileSync } from 'node:fs';
import { writeHeapSnapshot } from 'node:v8';
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { startTestServer } from '../../test/helpers/server.js';


export type FullRoomServerRequest = { type: 'sample'; resetLoop?: boolean } | { type: 'heap' } | { type: 'stop' };
export type FullRoomServerReply =
  | { type: 'ready'; signalingUrl: string }
  | { type: 'heap'; heapUsedBytes: number }
  | { type: 'sample'; cpuMicros: number; rssBytes: number; maxStallMs: number; p99StallMs: number; maxGcPauseMs: number; gcMs: number; maxStallCpuMs: number; maxStallGcMs: number; maxStallMainRunMs: number; maxStallMainWaitMs: number; maxMainRunMs: number };

const server = await startTestServer({ signaling: { connectionBurstPerIp: 1000, connectionsPerIpPerSecond: 1000 } });
const loop = monitorEventLoopDelay({ resolution: 10 });
loop.enable();
// Garbage-collection pauses, to tell a stall that is GC from one that is a long task (or the OS scheduling others).
let maxGcPauseMs = 0;
let gcMs = 0;
/** Recent pauses (start, duration), to tell how much of the longest stall was GC. */
const pauses: { start: number; duration: number }[] = [];
const gcObserver = new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    maxGcPauseMs = Math.max(maxGcPauseMs, entry.duration);
    gcMs += entry.duration;
    pauses.push({ start: entry.startTime, duration: entry.duration });
    if (pauses.length > 1000) pauses.shift();
  }
});
gcObserver.observe({ entryTypes: ['gc'] });
// The CPU time this process used during its longest gap between two 10 ms ticks: close to the gap, a long task
// (or many back to back); far below it, the machine ran other processes (this 2-core machine is shared).
const stallLogMs = Number(process.env.TSFU_BENCH_SERVER_STALL_LOG ?? 0);
// The main thread's own time running and waiting for a core in that gap (Linux schedstat: ns on a CPU, ns on a
// run queue): a long wait means the OS ran other processes; a long run, our own code (or GC on this thread).
const schedstatPath = `/proc/self/task/${process.pid}/schedstat`;
const mainThread = () => {
  try {
    const [run, wait] = readFileSync(schedstatPath, 'latin1').split(' ').map(Number);
    return { run, wait };
  } catch {
    return { run: NaN, wait: NaN };
  }
};
/** The longest the main thread ran between two ticks: what this process's own work (JS and GC) held the loop. */
let maxMainRunMs = 0;
let lastTick = { wall: performance.now(), cpu: process.cpuUsage(), main: mainThread() };
let longest = { wallMs: 0, cpuMs: 0, start: 0, end: 0, mainRunMs: 0, mainWaitMs: 0 };
const ticker = setInterval(() => {
  const now = { wall: performance.now(), cpu: process.cpuUsage(), main: mainThread() };
  const wallMs = now.wall - lastTick.wall;
  maxMainRunMs = Math.max(maxMainRunMs, (now.main.run - lastTick.main.run) / 1e6);
  if (wallMs > longest.wallMs) {
    const cpuMs = (now.cpu.user + now.cpu.system - lastTick.cpu.user - lastTick.cpu.system) / 1000;
    const mainRunMs = (now.main.run - lastTick.main.run) / 1e6;
    const mainWaitMs = (now.main.wait - lastTick.main.wait) / 1e6;
    longest = { wallMs, cpuMs, start: lastTick.wall, end: now.wall, mainRunMs, mainWaitMs };
  }
  // TSFU_BENCH_SERVER_STALL_LOG=ms (a diagnostic): each gap over ms, as hrtime µs (the clock of --cpu-prof's samples).
  if (stallLogMs && wallMs > stallLogMs) {
    const endUs = Number(process.hrtime.bigint() / 1000n);
    const run = ((now.main.run - lastTick.main.run) / 1e6).toFixed(0);
    const wait = ((now.main.wait - lastTick.main.wait) / 1e6).toFixed(0);
    console.error(`stall: ${wallMs.toFixed(0)} ms (main thread ran ${run} ms, waited ${wait} ms for a core), hrtime µs ${endUs - Math.round(wallMs * 1000)}..${endUs}`);
  }
  lastTick = now;
}, 10);
const send = (message: FullRoomServerReply) => process.send?.(message);
let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  // TSFU_BENCH_SERVER_HEAP_SNAPSHOT=file (a diagnostic): the steady-state heap, written before anything closes.
  if (process.env.TSFU_BENCH_SERVER_HEAP_SNAPSHOT) writeHeapSnapshot(process.env.TSFU_BENCH_SERVER_HEAP_SNAPSHOT);
  gcObserver.disconnect();
  clearInterval(ticker);
  void server.close().finally(() => process.exit(0));
};
// TSFU_BENCH_SERVER_LONG_TASKS=1 (a diagnostic: slows the server): logs every callback over 100 ms with its
// resource type (TCPWRAP: a socket's data, Immediate, Timeout, UDPWRAP: media, ...) and, for setImmediate and
// process.nextTick, where it was scheduled, to find what a stall is made of. Promise reactions are not
// followed (PROMISE resources are skipped).
if (process.env.TSFU_BENCH_SERVER_LONG_TASKS === '1') {
  const types = new Map<number, string>();
  const started = new Map<number, number>();
  const scheduledAt = () => (new Error().stack ?? '').split('\n').slice(2, 12).join(' |');
  createHook({
    init: (id, type) => void (type !== 'PROMISE' && types.set(id, type === 'Immediate' || type === 'TickObject' ? `${type} ${scheduledAt()}` : type)),
    before: (id) => void (types.has(id) && started.set(id, performance.now())),
    after: (id) => {
      const at = started.get(id);
      if (at === undefined) return;
      started.delete(id);
      const ms = performance.now() - at;
      if (ms > 100) console.error(`long task: ${types.get(id)} ${ms.toFixed(0)} ms`);
    },
    destroy: (id) => void types.delete(id),
  }).enable();
}

process.on('message', (message: FullRoomServerRequest) => {
  if (message.type === 'stop') return stop();
  if (message.type === 'heap') {
    // What stays after a full collection (the process runs with --expose-gc): growth here is memory kept, not garbage.
    const gc = (globalThis as { gc?: () => void }).gc;
    gc?.();
    gc?.();
    return send({ type: 'heap', heapUsedBytes: gc ? process.memoryUsage().heapUsed : NaN });
  }
  const { user, system } = process.cpuUsage();
  send({
    type: 'sample',
    cpuMicros: user + system,
    rssBytes: process.memoryUsage().rss,
    maxStallMs: loop.max / 1e6,
    p99StallMs: loop.percentile(99) / 1e6,
    maxGcPauseMs,
    gcMs,
    maxStallCpuMs: longest.cpuMs,
    maxStallMainRunMs: longest.mainRunMs,
    maxStallMainWaitMs: longest.mainWaitMs,
    maxMainRunMs,
    maxStallGcMs: pauses.reduce((sum, p) => sum + Math.max(0, Math.min(p.start + p.duration, longest.end) - Math.max(p.start, longest.start)), 0),
  });
  if (message.resetLoop) {
    loop.reset();
    maxGcPauseMs = 0;
    longest = { wallMs: 0, cpuMs: 0, start: 0, end: 0, mainRunMs: 0, mainWaitMs: 0 };
    maxMainRunMs = 0;
  }
});
process.on('disconnect', stop);
send({ type: 'ready', signalingUrl: server.signalingUrl });
