// A UDP relay thread (worker_threads entry): one shard with its own TurnCore, relay sockets and
// timer, and a UDP listener bound with SO_REUSEPORT on the port every relay thread shares.
// worker-pool.ts starts it; it answers 'ready' with the bound port (or 'failed'), starts serving on
// 'serve' (once every thread is bound), forwards log events (never per packet) and closes
// everything on 'close', then lets the thread end.
import type dgram from 'node:dgram';
import { parentPort, workerData } from 'node:worker_threads';
import type { TurnConfig } from './config.js';
import { RelayShard, type ShardLog } from './shard.js';
import type { TurnMemory } from './shared-memory.js';
import { bindUdpListener, closeUdp, serveUdp } from './udp-listener.js';

export interface UdpWorkerData {
  readonly config: TurnConfig;
  readonly memory: TurnMemory;
  readonly shard: number;
  readonly shards: number;
  /** Port to bind (0 only for the first worker, which picks it for the others). */
  readonly port: number;
  /** pino's numeric level of the main logger: events below it are not sent. */
  readonly logLevel: number;
}

export type WorkerReport =
  | { readonly type: 'ready'; readonly port: number }
  | { readonly type: 'failed'; readonly message: string; readonly code?: string }
  | { readonly type: 'log'; readonly level: 'debug' | 'info' | 'error'; readonly fields: object; readonly msg: string }
  | { readonly type: 'closed' };

const port = parentPort!;
const data = workerData as UdpWorkerData;
const report = (r: WorkerReport): void => port.postMessage(r);

/** Errors do not survive postMessage as pino expects: send their fields. */
function plain(fields: object): object {
  const out: Record<string, unknown> = { ...fields };
  for (const [k, v] of Object.entries(out)) {
    if (v instanceof Error) out[k] = { type: v.name, message: v.message, stack: v.stack, code: (v as NodeJS.ErrnoException).code };
  }
  return out;
}

const forward =
  (level: 'debug' | 'info' | 'error', value: number) =>
  (fields: object, msg: string): void => {
    if (value >= data.logLevel) report({ type: 'log', level, fields: plain(fields), msg });
  };
const log: ShardLog = { debug: forward('debug', 20), info: forward('info', 30), error: forward('error', 50) };

const shard = new RelayShard({ config: data.config, memory: data.memory, shard: data.shard, shards: data.shards, log, clock: { now: Date.now } });
let socket: dgram.Socket | null = null;

export type PoolCommand = { readonly type: 'serve' } | { readonly type: 'close' };

port.on('message', (m: PoolCommand) => {
  if (m.type === 'serve') {
    if (socket) serveUdp(shard, socket);
    return;
  }
  shard.close();
  void (socket ? closeUdp(socket) : Promise.resolve()).then(() => {
    report({ type: 'closed' });
    port.close();
  });
});

bindUdpListener(shard, { address: data.config.listenAddress, port: data.port, reusePort: true, serve: false }).then(
  (s) => {
    socket = s;
    report({ type: 'ready', port: s.address().port });
  },
  (err: NodeJS.ErrnoException) => {
    shard.close();
    report({ type: 'failed', message: err.message, code: err.code });
    port.close();
  },
);
