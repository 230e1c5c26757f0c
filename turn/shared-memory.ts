// What the relay threads share (server.ts creates it; each thread builds its core over it):
// the relay port states, the allocation quota counts, one row of counters per thread, and the
// nonce key. All of it is plain SharedArrayBuffers, passed to workers in workerData.
import { randomBytes } from 'node:crypto';
import { AllocationQuota } from './allocation-quota.js';
import type { TurnConfig } from './config.js';
import { PortPool } from './port-pool.js';
import { countersMemory, shardRow } from './shard-counters.js';

export interface TurnMemory {
  readonly ports: SharedArrayBuffer;
  readonly quota: SharedArrayBuffer;
  readonly counters: SharedArrayBuffer;
  /** Nonces are stateless (HMAC under this key), so a nonce from one thread is valid on all. */
  readonly nonceKey: Uint8Array;
}

export function createTurnMemory(config: TurnConfig, shards: number): TurnMemory {
  const [min, max] = config.relayPortRange;
  return {
    ports: PortPool.memory(min, max) as SharedArrayBuffer,
    quota: AllocationQuota.memory(config.maxAllocationsTotal) as SharedArrayBuffer,
    counters: countersMemory(shards),
    nonceKey: new Uint8Array(randomBytes(20)),
  };
}

/** One thread's view of the shared state, in the shape TurnCore's options take. */
export function shardState(config: TurnConfig, memory: TurnMemory, shard: number, shards: number) {
  const [min, max] = config.relayPortRange;
  return {
    ports: new PortPool(min, max, Math.random, memory.ports),
    quota: new AllocationQuota(config.maxAllocationsPerUser, config.maxAllocationsTotal, memory.quota),
    nonceKey: Buffer.from(memory.nonceKey),
    counters: shardRow(memory.counters, shard),
    allocationIds: { first: shard + 1, stride: shards },
  };
}
