// Prometheus metrics for the TURN server (CONVENTIONS: tsfu_turn_<thing>_<unit>). Relay counters
// are read from the core's plain counters on scrape, so the hot path never calls prom-client.
import { Counter, Gauge, type Registry } from 'prom-client';
import type { TurnCore } from './core.js';

export interface TurnMetrics {
  readonly allocationsCreated: Counter<string>;
  readonly allocationsRefused: Counter<'reason'>;
  readonly authFailures: Counter<'reason'>;
  /** Unregisters everything (idempotent), so a registry can host a restarted server. */
  remove(): void;
}

export function createTurnMetrics(registry: Registry, core: () => TurnCore | null): TurnMetrics {
  const registers = [registry];
  const active = new Gauge({
    name: 'tsfu_turn_active_allocations',
    help: 'TURN allocations currently held',
    registers,
    collect() {
      this.set(core()?.allocationCount ?? 0);
    },
  });
  const allocationsCreated = new Counter({
    name: 'tsfu_turn_allocations_created_total',
    help: 'TURN allocations created',
    registers,
  });
  const allocationsRefused = new Counter({
    name: 'tsfu_turn_allocations_refused_total',
    help: 'TURN Allocate requests refused, by reason (user-quota, total-quota, port-exhausted)',
    labelNames: ['reason'] as const,
    registers,
  });
  const authFailures = new Counter({
    name: 'tsfu_turn_auth_failures_total',
    help: 'TURN requests with bad credentials, by reason',
    labelNames: ['reason'] as const,
    registers,
  });
  const mirror = (name: string, help: string, read: (t: TurnCore['traffic']) => [number, number]): Counter<'direction'> =>
    new Counter({
      name,
      help,
      labelNames: ['direction'] as const,
      registers,
      collect() {
        const c = core();
        if (!c) return;
        const [toPeer, toClient] = read(c.traffic);
        this.reset();
        this.inc({ direction: 'to_peer' }, toPeer);
        this.inc({ direction: 'to_client' }, toClient);
      },
    });
  const packets = mirror('tsfu_turn_relayed_packets_total', 'Packets relayed, by direction', (t) => [t.packetsToPeer, t.packetsToClient]);
  const bytes = mirror('tsfu_turn_relayed_bytes_total', 'Payload bytes relayed, by direction', (t) => [t.bytesToPeer, t.bytesToClient]);
  const dropped = new Counter({
    name: 'tsfu_turn_dropped_packets_total',
    help: 'Data packets dropped (no allocation, permission or channel; bandwidth cap)',
    registers,
    collect() {
      this.reset();
      this.inc(core()?.traffic.dropped ?? 0);
    },
  });
  const all = [active, allocationsCreated, allocationsRefused, authFailures, packets, bytes, dropped];
  let removed = false;
  return {
    allocationsCreated,
    allocationsRefused,
    authFailures,
    remove() {
      if (removed) return;
      removed = true;
      for (const m of all) registry.removeSingleMetric((m as unknown as { name: string }).name);
    },
  };
}
