// The TURN server: relay threads and listeners around the protocol core.
//
// Threading (docs/TURN.md): with `threads` N > 1, the UDP listener is sharded over N worker
// threads (udp-worker.ts) that bind the same port with SO_REUSEPORT; the kernel hashes each
// client's 4-tuple to one of them, and each worker keeps that client's allocation, permissions,
// channels and relay socket, so both directions of a relay stay in one thread. TCP and TLS
// listeners stay on the main thread, which runs its own shard for them (and for UDP when N is 1).
// Shards share, through SharedArrayBuffers (shared-memory.ts): the relay port states, the
// allocation quotas, the nonce key, and one row of counters each, which stats() and the metrics
// sum in the main thread.
import { availableParallelism } from 'node:os';
import type dgram from 'node:dgram';
import type net from 'node:net';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { TurnConfig } from './config.js';
import { createTurnMetrics } from './metrics.js';
import { PortPool } from './port-pool.js';
import { ALLOCATIONS, DROPPED, HANDLER_ERRORS, PACKETS_TO_CLIENT, PACKETS_TO_PEER, RELAY_SOCKETS, shardRow, sumRows, TCP_CONNECTIONS } from './shard-counters.js';
import { RelayShard, type Clock } from './shard.js';
import { createTurnMemory } from './shared-memory.js';
import { closeServer, listenTcp, listenTls, type BoundAddress } from './tcp-listener.js';
import { bindUdpListener, closeUdp } from './udp-listener.js';
import { startUdpWorkers, type UdpWorkers } from './worker-pool.js';

export type { Clock } from './shard.js';
export type { BoundAddress } from './tcp-listener.js';

export interface TurnServerDeps {
  readonly logger: Logger;
  readonly registry: Registry;
  /** The main thread's clock (UDP relay threads use Date.now). */
  readonly clock?: Clock;
}

export interface TurnServerStats {
  readonly allocations: number;
  readonly relaySockets: number;
  readonly portsInUse: number;
  readonly tcpConnections: number;
  readonly packetsToPeer: number;
  readonly packetsToClient: number;
  readonly dropped: number;
  readonly handlerErrors: number;
  /** Threads serving the UDP listener (1 when it runs on the main thread). */
  readonly udpThreads: number;
  /** Allocations held by each shard: [0] the main thread's (TCP/TLS, and UDP with one thread), then each UDP worker's. */
  readonly allocationsPerThread: readonly number[];
  /** Packets relayed (both directions) by each shard, in the same order. */
  readonly relayedPerThread: readonly number[];
}

export interface TurnServer {
  readonly addresses: { readonly udp?: BoundAddress; readonly tcp?: BoundAddress; readonly tls?: BoundAddress };
  stats(): TurnServerStats;
  /** Closes every worker thread, socket, timer and allocation. Idempotent. */
  close(): Promise<void>;
}

/** UDP relay threads for a config: `threads`, or one per CPU when it is 0. */
export function udpThreadCount(config: TurnConfig): number {
  if (config.udpPort < 0) return 0;
  return config.threads === 0 ? availableParallelism() : config.threads;
}

export async function startTurnServer(config: TurnConfig, deps: TurnServerDeps): Promise<TurnServer> {
  const log = deps.logger.child({ name: 'turn' });
  const udpThreads = udpThreadCount(config);
  const workerCount = udpThreads > 1 ? udpThreads : 0;
  // Shard 0 is the main thread's (TCP/TLS, and UDP when it has no workers); 1..N the UDP workers.
  const shards = 1 + workerCount;
  const memory = createTurnMemory(config, shards);
  const main = new RelayShard({ config, memory, shard: 0, shards, log, clock: deps.clock ?? { now: Date.now } });
  const ports = new PortPool(config.relayPortRange[0], config.relayPortRange[1], Math.random, memory.ports);
  const totals = (): Float64Array => sumRows(memory.counters);
  const metrics = createTurnMetrics(deps.registry, totals, config.maxAllocationsTotal);
  const perShard = (read: (row: Float64Array) => number): number[] => Array.from({ length: shards }, (_, i) => read(shardRow(memory.counters, i)));

  let udp: dgram.Socket | null = null;
  let workers: UdpWorkers | null = null;
  let tcp: net.Server | null = null;
  let tls: net.Server | null = null;
  const addresses: { udp?: BoundAddress; tcp?: BoundAddress; tls?: BoundAddress } = {};
  const release = async (): Promise<void> => {
    main.close();
    await Promise.all([workers?.close(), udp ? closeUdp(udp) : undefined, closeServer(tcp), closeServer(tls)]);
    metrics.remove();
  };
  try {
    if (workerCount > 0) {
      workers = await startUdpWorkers({ config, memory, first: 1, count: workerCount, shards, log });
      addresses.udp = { address: config.listenAddress, port: workers.port };
    } else if (udpThreads === 1) {
      udp = await bindUdpListener(main, { address: config.listenAddress, port: config.udpPort, reusePort: false });
      const a = udp.address();
      addresses.udp = { address: a.address, port: a.port };
    }
    if (config.tcpPort >= 0) ({ server: tcp, address: addresses.tcp } = await listenTcp(main, config.listenAddress, config.tcpPort));
    if (config.tls) ({ server: tls, address: addresses.tls } = await listenTls(main, config.listenAddress, config.tls));
  } catch (err) {
    // A listener failed (port in use, bad certificate): release what was opened, then report.
    await release();
    throw err;
  }
  log.info({ ...addresses, udpThreads, relayAddress: config.relayAddress, realm: config.realm }, 'turn server started');

  let closing: Promise<void> | null = null;
  return {
    addresses,
    stats: () => {
      const t = totals();
      return {
        allocations: t[ALLOCATIONS],
        relaySockets: t[RELAY_SOCKETS],
        portsInUse: ports.inUseEverywhere,
        tcpConnections: t[TCP_CONNECTIONS],
        packetsToPeer: t[PACKETS_TO_PEER],
        packetsToClient: t[PACKETS_TO_CLIENT],
        dropped: t[DROPPED],
        handlerErrors: t[HANDLER_ERRORS],
        udpThreads,
        allocationsPerThread: perShard((row) => row[ALLOCATIONS]),
        relayedPerThread: perShard((row) => row[PACKETS_TO_PEER] + row[PACKETS_TO_CLIENT]),
      };
    },
    close() {
      closing ??= release().then(() => log.info('turn server closed'));
      return closing;
    },
  };
}
