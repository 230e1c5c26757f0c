/**
 * The SFU server in a process of its own, so the benchmark reads the server's CPU time without the bots'.
 * Started by bench/lib/server-handle.ts with `fork` (IPC): it sends `{ type: 'ready', ... }` once listening,
 * answers `{ type: 'sample' }` with `process.cpuUsage()` and the forwarded-packets counter read together, and
 * exits on `{ type: 'stop' }` (a clean exit, so `--cpu-prof` writes its profile). `{ type: 'inspect' }` (the soak)
 * answers with memory, active handles and timers by kind, and the SFU's object counts; with `gc: true` it first
 * runs a full garbage collection when the process was started with `--expose-gc`.
 */
import type { Counter } from 'prom-client';
import type { SfuDump } from '../../sfu/sfu.js';
import { startTestServer } from '../../test/helpers/server.js';

export const FORWARDED_PACKETS = 'tsfu_sfu_forwarded_packets_total';

export type ServerRequest = { type: 'sample' } | { type: 'stop' } | { type: 'inspect'; gc?: boolean; counters?: string[] };
export type ServerReply =
  | { type: 'ready'; url: string; signalingUrl: string; pid: number }
  | { type: 'sample'; cpuMicros: number; forwardedPackets: number }
  | ({ type: 'inspect' } & ServerInspection);

/** What the server process holds at one moment (the soak's start, warm-up, end and after-everyone-left readings). */
export interface ServerInspection {
  /** process.memoryUsage(), bytes. */
  memory: { rss: number; heapUsed: number; heapTotal: number; external: number; arrayBuffers: number };
  /** process.getActiveResourcesInfo() counted by kind: UDPWrap (UDP sockets), TCPSocketWrap, Timeout, ... */
  resources: Record<string, number>;
  sfu: SfuDump;
  signalingSessions: number;
  /** The requested counters, each summed over its labels (read from the registry: no HTTP connection is opened). */
  counters: Record<string, number>;
  /** Whether a full GC ran just before (the process has --expose-gc). */
  collected: boolean;
}

async function inspect(gc: boolean, counterNames: string[] = []): Promise<ServerInspection> {
  const counters: Record<string, number> = {};
  for (const name of counterNames) {
    const metric = await server.registry.getSingleMetric(name)?.get();
    counters[name] = metric ? metric.values.reduce((sum, v) => sum + v.value, 0) : 0;
  }
  const collect = (globalThis as { gc?: () => void }).gc;
  if (gc && collect) collect();
  const { rss, heapUsed, heapTotal, external, arrayBuffers } = process.memoryUsage();
  const resources: Record<string, number> = {};
  for (const kind of process.getActiveResourcesInfo()) resources[kind] = (resources[kind] ?? 0) + 1;
  return {
    memory: { rss, heapUsed, heapTotal, external, arrayBuffers },
    resources,
    sfu: server.sfu.dump(),
    signalingSessions: server.signaling.sessionCount,
    counters,
    collected: gc && collect !== undefined,
  };
}

const send = (message: ServerReply) => process.send?.(message);

// BENCH_SERVER_CONFIG: JSON config overrides (e.g. the signaling bench's connection limits and port range).
const server = await startTestServer(process.env.BENCH_SERVER_CONFIG ? JSON.parse(process.env.BENCH_SERVER_CONFIG) : {});
const forwarded = server.registry.getSingleMetric(FORWARDED_PACKETS) as Counter | undefined;
send({ type: 'ready', url: server.url, signalingUrl: server.signalingUrl, pid: process.pid });

let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  void server.close().finally(() => process.exit(0));
};

process.on('message', (message: ServerRequest) => {
  if (message.type === 'sample') {
    const { user, system } = process.cpuUsage();
    // The counter's value is read synchronously from prom-client's hash map (the same value /metrics shows).
    void forwarded?.get().then((metric) => {
      let packets = 0;
      for (const value of metric.values) packets += value.value;
      send({ type: 'sample', cpuMicros: user + system, forwardedPackets: packets });
    });
  } else if (message.type === 'inspect') {
    void inspect(message.gc === true, message.counters).then((inspection) => send({ type: 'inspect', ...inspection }));
  } else if (message.type === 'stop') {
    stop();
  }
});
process.on('disconnect', stop);
