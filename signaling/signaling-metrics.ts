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
  joinFailures: Counter<'reason'>;
  clientWebsocketConnectSeconds: Histogram;
  clientIceConnectSeconds: Histogram<'peer'>;
  clientConnections: Counter<'peer' | 'candidate_type'>;
  moderationActions: Counter<'action'>;
}

/** Connect times as clients measure them (clientMetrics): a WebSocket or ICE connect of seconds is what operators look for. */
const CLIENT_CONNECT_BUCKETS = [0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30];

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
    joinFailures: new Counter({
      name: 'tsfu_signaling_join_failures_total',
      help: 'Join requests refused, by reason (the error code sent: TOKEN_EXPIRED, ROOM_FULL, ROOM_UNAVAILABLE, ...; JOIN_TIMEOUT when no join came)',
      labelNames: ['reason'],
      registers: [registry],
    }),
    clientWebsocketConnectSeconds: new Histogram({
      name: 'tsfu_client_websocket_connect_seconds',
      help: 'Time the client waited for its signaling WebSocket to open, as it reports (clientMetrics)',
      buckets: CLIENT_CONNECT_BUCKETS,
      registers: [registry],
    }),
    clientIceConnectSeconds: new Histogram({
      name: 'tsfu_client_ice_connect_seconds',
      help: "Time from a peer connection's first negotiation to connected, as the client reports (clientMetrics), by peer connection",
      labelNames: ['peer'],
      buckets: CLIENT_CONNECT_BUCKETS,
      registers: [registry],
    }),
    moderationActions: new Counter({
      name: 'tsfu_signaling_moderation_actions_total',
      help: 'Moderation actions done (mute, unmute_request, remove, update_participant by moderators; update_own_metadata, mute_own_track, unmute_own_track by participants)',
      labelNames: ['action'],
      registers: [registry],
    }),
    clientConnections: new Counter({
      name: 'tsfu_client_connections_total',
      help: "Client peer connections that connected, by peer and the type of the selected pair's local candidate (relay: through TURN)",
      labelNames: ['peer', 'candidate_type'],
      registers: [registry],
    }),
  };
}
