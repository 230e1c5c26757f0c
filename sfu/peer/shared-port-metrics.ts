import { Counter, Gauge, type Registry } from 'prom-client';
import type { TcpMux, TcpMuxDropReason } from './tcp-mux.js';
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

/** Connections to the shared ICE-TCP port (rtc.tcpPort): handed to a peer connection, or refused and why. */
export function registerTcpMuxMetrics(registry: Registry, mux: TcpMux): void {
  const reported: Record<TcpMuxDropReason | 'accepted', number> = { accepted: 0, unknown: 0, bad_integrity: 0, malformed: 0, timeout: 0 };
  new Counter({
    name: 'tsfu_sfu_tcp_mux_connections_total',
    help: 'TCP connections to the shared ICE-TCP port: accepted (handed to a peer connection) or refused (unknown ufrag, bad MESSAGE-INTEGRITY, malformed first frame, timeout)',
    labelNames: ['result'],
    registers: [registry],
    collect() {
      for (const result of Object.keys(reported) as (keyof typeof reported)[]) {
        const total = result === 'accepted' ? mux.accepted : mux.dropped[result];
        this.inc({ result }, total - reported[result]);
        reported[result] = total;
      }
    },
  });
}
