import { fileURLToPath } from 'node:url';
import { Child } from './child.js';
import type { ServerInspection, ServerReply, ServerRequest } from './server-process.js';
import type { PublisherReply, PublisherRequest } from './publisher-process.js';

const SERVER_ENTRY = fileURLToPath(new URL('./server-process.ts', import.meta.url));
const PUBLISHER_ENTRY = fileURLToPath(new URL('./publisher-process.ts', import.meta.url));

export interface ServerSample {
  cpuSeconds: number;
  forwardedPackets: number;
}

/** The parent's side of bench/lib/server-process.ts: start, CPU/counter samples, /metrics scrape, stop. */
export class ServerHandle {
  private constructor(
    readonly child: Child<ServerRequest, ServerReply>,
    readonly url: string,
    readonly signalingUrl: string,
  ) {}

  /**
   * `cpuProfileDir` runs the server under `node --cpu-prof` and writes the profile there on stop; `exposeGc`
   * starts it with `--expose-gc` so `inspect({ gc: true })` reads memory after a full collection.
   */
  static async start(options: { cpuProfileDir?: string; exposeGc?: boolean } = {}): Promise<ServerHandle> {
    const prof = options.cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${options.cpuProfileDir}`] : [];
    if (options.exposeGc) prof.push('--expose-gc');
    const { child, ready } = await Child.start<ServerRequest, ServerReply>(SERVER_ENTRY, [], prof);
    return new ServerHandle(child, ready.url, ready.signalingUrl);
  }

  /** Server process CPU time (user + system) and forwarded packets, read together in the server. */
  async sample(): Promise<ServerSample> {
    const reply = await this.child.ask({ type: 'sample' }, 'sample');
    return { cpuSeconds: reply.cpuMicros / 1e6, forwardedPackets: reply.forwardedPackets };
  }

  /** Memory, active handles and timers, and the SFU's object counts, read in the server process. */
  async inspect(options: { gc?: boolean; counters?: readonly string[] } = {}): Promise<ServerInspection> {
    const proc = this.child.process;
    if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`the server process has exited (${proc.exitCode ?? proc.signalCode})`);
    // A server that dies mid-soak fails the run instead of leaving it waiting for a reply.
    let onExit!: (code: number | null) => void;
    const exited = new Promise<never>((_, reject) => {
      onExit = (code) => reject(new Error(`the server process exited (${code}) before answering`));
      proc.once('exit', onExit);
    });
    try {
      const { type: _type, ...inspection } = await Promise.race([this.child.ask({ type: 'inspect', gc: options.gc, counters: options.counters && [...options.counters] }, 'inspect'), exited]);
      return inspection;
    } finally {
      proc.off('exit', onExit);
    }
  }

  /** For each of `names`, the sum over labels of that counter in the server's Prometheus /metrics. */
  async scrapeCounters<N extends string>(names: readonly N[]): Promise<Record<N, number>> {
    const text = await (await fetch(`${this.url}/metrics`)).text();
    const sums = Object.fromEntries(names.map((n) => [n, 0])) as Record<N, number>;
    for (const line of text.split('\n')) {
      for (const name of names) {
        if (line.startsWith(name) && (line[name.length] === '{' || line[name.length] === ' ')) sums[name] += Number(line.slice(line.lastIndexOf(' ') + 1));
      }
    }
    return sums;
  }

  stop(): Promise<void> {
    return this.child.stop({ type: 'stop' });
  }
}

/** The publishing bot in its own process (bench/lib/publisher-process.ts). */
export class PublisherHandle {
  private constructor(readonly child: Child<PublisherRequest, PublisherReply>) {}

  static async start(signalingUrl: string, room: string, identity: string): Promise<PublisherHandle> {
    const { child } = await Child.start<PublisherRequest, PublisherReply>(PUBLISHER_ENTRY, [signalingUrl, room, identity]);
    return new PublisherHandle(child);
  }

  async sentPackets(): Promise<number> {
    return (await this.child.ask({ type: 'count' }, 'count')).packets;
  }

  stop(): Promise<void> {
    return this.child.stop({ type: 'stop' });
  }
}
