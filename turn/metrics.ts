// Prometheus metrics for the TURN server (CONVENTIONS: tsfu_turn_<thing>_<unit>). Every value is
// read on scrape from the relay threads' shared counters (shard-counters.ts), so neither the hot
// path nor a worker thread ever calls prom-client.
import { Counter, Gauge, type Registry } from 'prom-client';
import {
  ALLOCATIONS,
  ALLOCATIONS_CREATED,
  AUTH_FAILURES,
  BYTES_TO_CLIENT,
  BYTES_TO_PEER,
  DROPPED,
  PACKETS_TO_CLIENT,
  PACKETS_TO_PEER,
  REFUSED,
} from './shard-counters.js';

export interface TurnMetrics {
  /** Unregisters everything (idempotent), so a registry can host a restarted server. */
  remove(): void;
}

/** `totals()` sums the counters of every relay thread (shard-counters.ts layout); `maxAllocationsTotal` is the quota. */
export function createTurnMetrics(registry: Registry, totals: () => Float64Array, maxAllocationsTotal: number): TurnMetrics {
  const registers = [registry];
  // Beside the active count, so an alert can compare the two (allocations near the quota).
  const limit = new Gauge({ name: 'tsfu_turn_allocations_limit', help: 'TURN allocations the server may hold at once (turn.server.maxAllocationsTotal)', registers });
  limit.set(maxAllocationsTotal);
  const active = new Gauge({
    name: 'tsfu_turn_active_allocations',
    help: 'TURN allocations currently held',
    registers,
    collect() {
      this.set(totals()[ALLOCATIONS]);
    },
  });
  const counter = (name: string, help: string, at: number): Counter<string> =>
    new Counter({
      name,
      help,
      registers,
      collect() {
        this.reset();
        this.inc(totals()[at]);
      },
    });
  const labelled = <L extends string>(name: string, help: string, label: L, slots: Record<string, number>): Counter<L> =>
    new Counter({
      name,
      help,
      labelNames: [label] as const,
      registers,
      collect() {
        const t = totals();
        this.reset();
        for (const [value, at] of Object.entries(slots)) this.inc({ [label]: value } as Record<L, string>, t[at]);
      },
    });
  const all = [
    limit,
    active,
    counter('tsfu_turn_allocations_created_total', 'TURN allocations created', ALLOCATIONS_CREATED),
    labelled('tsfu_turn_allocations_refused_total', 'TURN Allocate requests refused, by reason (user-quota, total-quota, port-exhausted)', 'reason', REFUSED),
    labelled('tsfu_turn_auth_failures_total', 'TURN requests with bad credentials, by reason', 'reason', AUTH_FAILURES),
    labelled('tsfu_turn_relayed_packets_total', 'Packets relayed, by direction', 'direction', { to_peer: PACKETS_TO_PEER, to_client: PACKETS_TO_CLIENT }),
    labelled('tsfu_turn_relayed_bytes_total', 'Payload bytes relayed, by direction', 'direction', { to_peer: BYTES_TO_PEER, to_client: BYTES_TO_CLIENT }),
    counter('tsfu_turn_dropped_packets_total', 'Data packets dropped (no allocation, permission or channel; bandwidth cap)', DROPPED),
  ];
  let removed = false;
  return {
    remove() {
      if (removed) return;
      removed = true;
      for (const m of all) registry.removeSingleMetric((m as unknown as { name: string }).name);
    },
  };
}
