import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { NodeProcess } from '../../test/helpers/node-process.js';
import type { RedisProcess } from '../../test/helpers/redis-process.js';
import { sleep } from './stats.js';

/**
 * Media node processes (`node dist/server/main.js`) sharing one redis-server: started with ids n1, n2, … and media
 * port ranges of their own, replaced after a kill by a node with a new id. Keys use the default prefix `tsfu:`.
 */
export class NodeFleet {
  readonly live: NodeProcess[] = [];
  readonly #slots = new Map<NodeProcess, number>();
  readonly #config: string;
  #count = 0;

  constructor(
    private readonly redis: RedisProcess,
    readonly inspect: Redis,
    config: object,
    private readonly env: Record<string, string> = {},
  ) {
    this.#config = join(mkdtempSync(join(tmpdir(), 'tsfu-cluster-bench-')), 'config.json');
    writeFileSync(this.#config, JSON.stringify(config));
  }

  /** Starts one node and waits until the others can see it registered. */
  async add(): Promise<NodeProcess> {
    const used = new Set(this.#slots.values());
    let slot = 0;
    while (used.has(slot)) slot++;
    const id = `n${++this.#count}`;
    const portMin = 40000 + slot * 1000;
    const node = await NodeProcess.start(id, {
      TSFU_CONFIG: this.#config,
      TSFU_REDIS_URL: this.redis.url,
      TSFU_RTC_PORT_MIN: String(portMin),
      TSFU_RTC_PORT_MAX: String(portMin + 999),
      ...this.env,
    });
    this.live.push(node);
    this.#slots.set(node, slot);
    const deadline = performance.now() + 10_000;
    while ((await this.inspect.exists(`tsfu:node:${id}`)) === 0) {
      if (performance.now() > deadline) throw new Error(`node ${id} did not register within 10 s`);
      await sleep(50);
    }
    return node;
  }

  /** Takes `node` out of the live list (before it is killed, so that clients stop being sent there). */
  remove(node: NodeProcess): void {
    this.live.splice(this.live.indexOf(node), 1);
    void node.exited.then(() => this.#slots.delete(node));
  }

  byUrl(signalingUrl: string): NodeProcess | undefined {
    return this.live.find((n) => n.signalingUrl === signalingUrl);
  }

  byId(nodeId: string): NodeProcess | undefined {
    return this.live.find((n) => n.nodeId === nodeId);
  }

  /** The node id in a room's lease (`<node> <epoch>`), or undefined when it has none. */
  async owner(room: string): Promise<string | undefined> {
    return (await this.inspect.get(`tsfu:room:${room}`))?.split(' ')[0];
  }

  async stop(): Promise<void> {
    for (const node of this.live.splice(0)) await node.kill('SIGKILL');
  }
}
