// Options and result types of the protocol core (core.ts).
import type { AllocationQuota } from './allocation-quota.js';
import type { Allocation } from './allocation.js';
import type { CorePolicy, TurnObserver } from './context.js';
import type { PortPool } from './port-pool.js';

export interface TurnCoreOptions extends CorePolicy {
  readonly software: string;
  readonly nonceLifetimeSeconds: number;
  readonly relayPortRange: readonly [number, number];
  readonly maxAllocationsPerUser: number;
  readonly maxAllocationsTotal: number;
  readonly unauthenticatedRateLimit: { readonly perSecond: number; readonly burst: number };
  readonly observer?: TurnObserver;
  /** Injected for deterministic tests. */
  readonly random?: () => number;
  readonly randomBytes?: (n: number) => Buffer;
  /**
   * Shared with the other relay threads (server.ts): the relay port pool and quota counts (both
   * over one SharedArrayBuffer), the nonce key (so any thread verifies any nonce), this thread's
   * row of counters, and allocation ids `first, first + stride, ...` unique across threads.
   */
  readonly ports?: PortPool;
  readonly quota?: AllocationQuota;
  readonly nonceKey?: Buffer;
  readonly counters?: Float64Array;
  readonly allocationIds?: { readonly first: number; readonly stride: number };
}

/** Relayed traffic as counted by one core. */
export interface TrafficCounts {
  readonly packetsToPeer: number;
  readonly bytesToPeer: number;
  readonly packetsToClient: number;
  readonly bytesToClient: number;
  readonly dropped: number;
}

/** Where one client data packet goes: valid until the next hot-path call (the object is reused). */
export interface RelayDecision {
  allocation: Allocation;
  address: string;
  port: number;
  offset: number;
  length: number;
}
