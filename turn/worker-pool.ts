// The main thread's side of the UDP relay threads: starts `count` workers (udp-worker.ts) on one
// UDP port with SO_REUSEPORT, relays their log events to the caller's logger, and closes them.
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { TurnConfig } from './config.js';
import type { TurnMemory } from './shared-memory.js';
import type { PoolCommand, UdpWorkerData, WorkerReport } from './udp-worker.js';

export interface UdpWorkers {
  /** The UDP port all of them listen on. */
  readonly port: number;
  /** Asks every worker to close its allocations and sockets, and waits for the threads to end. Idempotent. */
  close(): Promise<void>;
}

export interface UdpWorkerOptions {
  readonly config: TurnConfig;
  readonly memory: TurnMemory;
  /** Shard numbers first .. first+count-1; `shards` in total (the main thread's included). */
  readonly first: number;
  readonly count: number;
  readonly shards: number;
  readonly log: Logger;
}

/** How long a worker may take to close before it is terminated. */
const CLOSE_TIMEOUT_MS = 3000;

// Under vitest or tsx this module is TypeScript source; the worker then needs tsx to load .ts.
const source = import.meta.url.endsWith('.ts');
const entry = new URL(source ? './udp-worker.ts' : './udp-worker.js', import.meta.url);

class Thread {
  readonly worker: Worker;
  readonly ready: Promise<number>;
  readonly #exited: Promise<void>;
  #closing: Promise<void> | null = null;
  #running = false;

  constructor(data: UdpWorkerData, log: Logger) {
    this.worker = new Worker(entry, { workerData: data, execArgv: source ? ['--import', 'tsx'] : undefined, name: `turn-udp-${data.shard}` });
    const wlog = log.child({ thread: data.shard });
    this.#exited = new Promise((resolve) =>
      this.worker.once('exit', (code) => {
        // Its socket has left the SO_REUSEPORT group: the kernel re-hashes its clients to the others.
        if (this.#running && !this.#closing) wlog.error({ code }, 'turn relay thread exited');
        resolve();
      }),
    );
    this.ready = new Promise((resolve, reject) => {
      this.worker.on('message', (r: WorkerReport) => {
        if (r.type === 'ready') {
          this.#running = true;
          resolve(r.port);
        } else if (r.type === 'failed') reject(Object.assign(new Error(r.message), { code: r.code }));
        else if (r.type === 'log') wlog[r.level](r.fields, r.msg);
      });
      this.worker.on('error', (err) => {
        wlog.error({ err }, 'turn relay thread failed');
        reject(err);
      });
      this.worker.once('exit', (code) => reject(new Error(`turn relay thread exited (${code}) before it was ready`)));
    });
    this.ready.catch(() => undefined);
  }

  command(c: PoolCommand): void {
    this.worker.postMessage(c);
  }

  close(): Promise<void> {
    if (this.#closing) return this.#closing;
    this.command({ type: 'close' });
    const timer = setTimeout(() => void this.worker.terminate(), CLOSE_TIMEOUT_MS);
    this.#closing = this.#exited.then(() => clearTimeout(timer));
    return this.#closing;
  }
}

export async function startUdpWorkers(options: UdpWorkerOptions): Promise<UdpWorkers> {
  const { config, memory, first, count, shards, log } = options;
  const level = log.levelVal;
  const threads: Thread[] = [];
  const spawn = (shard: number, port: number): Thread => {
    const t = new Thread({ config, memory, shard, shards, port, logLevel: level }, log);
    threads.push(t);
    return t;
  };
  const close = async (): Promise<void> => {
    await Promise.all(threads.map((t) => t.close()));
  };
  try {
    // The first binds the configured port (0: the OS picks one); the others join it.
    const port = await spawn(first, config.udpPort).ready;
    const rest = Array.from({ length: count - 1 }, (_, i) => spawn(first + 1 + i, port).ready);
    await Promise.all(rest);
    for (const t of threads) t.command({ type: 'serve' });
    let closing: Promise<void> | null = null;
    return { port, close: () => (closing ??= close()) };
  } catch (err) {
    await close();
    throw err;
  }
}
