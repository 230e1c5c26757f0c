import { Counter, Gauge, type Registry } from 'prom-client';
import type { UdpMux, UdpMuxDropReason } from './udp-mux.js';

/** What an operator graphs of the shared UDP port (rtc.udpPort): its sessions, its demux maps, what it drops. */
export function registerUdpMuxMetrics(registry: Registry, mux: UdpMux): void {
  new Gauge({
    name: 'tsfu_sfu_udp_mux_sessions',
    help: 'ICE connections (two per participant that publishes) on the shared UDP port',
    registers: [registry],
    collect() {
      this.set(mux.sessionCount);
    },
  });
  new Gauge({
    name: 'tsfu_sfu_udp_mux_remote_addresses',
    help: 'Remote addresses routed to a connection by the shared UDP port',
    registers: [registry],
    collect() {
      this.set(mux.tableSizes.addresses);
    },
  });
  // The mux counts drops in plain numbers (per datagram); they are taken up when read.
  const reported: Record<UdpMuxDropReason, number> = { unknown: 0, bad_integrity: 0 };
  new Counter({
    name: 'tsfu_sfu_udp_mux_dropped_datagrams_total',
    help: 'Datagrams on the shared UDP port dropped: from an unknown address and naming no known ufrag, or a binding request failing MESSAGE-INTEGRITY',
    labelNames: ['reason'],
    registers: [registry],
    collect() {
      for (const reason of Object.keys(reported) as UdpMuxDropReason[]) {
        const total = mux.dropped[reason];
        this.inc({ reason }, total - reported[reason]);
        reported[reason] = total;
      }
    },
  });
}
