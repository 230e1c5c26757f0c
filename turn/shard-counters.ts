// Per-thread counters and gauges in shared memory: each relay thread ("shard") owns one row of a
// Float64Array over a SharedArrayBuffer and is its only writer; the main thread sums the rows for
// stats() and for the Prometheus collect() callbacks. No message is sent per packet or per event.
import type { AuthFailureReason, RefusalReason } from './context.js';

export const PACKETS_TO_PEER = 0;
export const BYTES_TO_PEER = 1;
export const PACKETS_TO_CLIENT = 2;
export const BYTES_TO_CLIENT = 3;
export const DROPPED = 4;
/** Gauges. */
export const ALLOCATIONS = 5;
export const RELAY_SOCKETS = 6;
export const TCP_CONNECTIONS = 7;
export const HANDLER_ERRORS = 8;
export const ALLOCATIONS_CREATED = 9;
export const REFUSED: Record<RefusalReason, number> = { 'user-quota': 10, 'total-quota': 11, 'port-exhausted': 12 };
export const AUTH_FAILURES: Record<AuthFailureReason, number> = { 'unknown-user': 13, 'bad-integrity': 14, 'wrong-credentials': 15 };
export const ROW = 16;

/** Memory for `shards` rows. */
export function countersMemory(shards: number): SharedArrayBuffer {
  return new SharedArrayBuffer(shards * ROW * 8);
}

/** The row of one shard. */
export function shardRow(memory: ArrayBufferLike, shard: number): Float64Array {
  return new Float64Array(memory, shard * ROW * 8, ROW);
}

/** Sums every shard's row. */
export function sumRows(memory: ArrayBufferLike): Float64Array {
  const all = new Float64Array(memory);
  const out = new Float64Array(ROW);
  for (let i = 0; i < all.length; i++) out[i % ROW] += all[i];
  return out;
}
