import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export interface SignalingMetrics {
  messagesReceived: Counter<'type'>;
  errorsSent: Counter<'code'>;
  connectionsRejected: Counter<'reason'>;
  protocolErrors: Counter<'code'>;
  rttSeconds: Histogram;
  joinSeconds: Histogram;
  redirects: Counter;
  resumes: Counter<'outcome'>;
}

export function createSignalingMetrics(registry: Registry, openConnections: () => number, detachedSessions: () => number): SignalingMetrics {
  new Gauge({
    name: 'tsfu_signaling_sessions_detached',
    help: 'Joined sessions whose socket dropped, kept for their resume grace period',
    registers: [registry],
    collect() {
      this.set(detachedSessions());
    },
  });
  new Gauge({
    name: 'tsfu_signaling_websocket_connections',
    help: 'Open signaling WebSocket connections',
    registers: [registry],
    collect() {
      this.set(openConnections());
    },
  });
  return {
    messagesReceived: new Counter({ name: 'tsfu_signaling_messages_received_total', help: 'Client messages by type (invalid ones as "invalid")', labelNames: ['type'], registers: [registry] }),
    errorsSent: new Counter({ name: 'tsfu_signaling_errors_total', help: 'Error replies sent to clients, by code', labelNames: ['code'], registers: [registry] }),
    connectionsRejected: new Counter({ name: 'tsfu_signaling_connections_rejected_total', help: 'Connections refused or closed by the server, by reason', labelNames: ['reason'], registers: [registry] }),
    protocolErrors: new Counter({
      name: 'tsfu_signaling_protocol_errors_total',
      help: 'WebSocket protocol violations by clients (invalid UTF-8, oversized frames), by ws error code',
      labelNames: ['code'],
      registers: [registry],
    }),
    rttSeconds: new Histogram({
      name: 'tsfu_signaling_rtt_seconds',
      help: 'WebSocket ping round-trip time',
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers: [registry],
    }),
    joinSeconds: new Histogram({
      name: 'tsfu_signaling_join_seconds',
      help: 'Time from a join request to the joined reply (token check and room join)',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2],
      registers: [registry],
    }),
    redirects: new Counter({ name: 'tsfu_signaling_redirects_total', help: 'Joins sent to the node that serves their room', registers: [registry] }),
    resumes: new Counter({
      name: 'tsfu_signaling_resumes_total',
      help: 'Sessions whose socket dropped, by outcome: resumed on a new socket, failed (a resume the server could not honour), expired (grace period over)',
      labelNames: ['outcome'],
      registers: [registry],
    }),
  };
}
