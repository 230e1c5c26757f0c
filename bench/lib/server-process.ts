/**
 * The SFU server in a process of its own, so the benchmark reads the server's CPU time without the bots'.
 * Started by bench/lib/server-handle.ts with `fork` (IPC): it sends `{ type: 'ready', ... }` once listening,
 * answers `{ type: 'sample' }` with `process.cpuUsage()` and the forwarded-packets counter read together, and
 * exits on `{ type: 'stop' }` (a clean exit, so `--cpu-prof` writes its profile).
 */
import type { Counter } from 'prom-client';
import { startTestServer } from '../../test/helpers/server.js';

export const FORWARDED_PACKETS = 'tsfu_sfu_forwarded_packets_total';

export type ServerRequest = { type: 'sample' } | { type: 'stop' };
export type ServerReply =
  | { type: 'ready'; url: string; signalingUrl: string; pid: number }
  | { type: 'sample'; cpuMicros: number; forwardedPackets: number };

const send = (message: ServerReply) => process.send?.(message);

const server = await startTestServer();
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
  } else if (message.type === 'stop') {
    stop();
  }
});
process.on('disconnect', stop);
