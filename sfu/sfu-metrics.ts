import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/**
 * Packets and payload bytes forwarded to subscribers, of one kind: the media path adds to these plain numbers (an
 * `inc` on a prom-client counter costs ~0.4 µs: argument checks, a labels lookup, an object written per call; the
 * two per forwarded packet were ~3 % of the server's CPU at 40 subscribers). `packetsForwarded` and
 * `bytesForwarded` take them up whenever they are read (their `collect`), so /metrics shows the same totals.
 */
export interface ForwardedTally {
  packets: number;
  bytes: number;
}

/** What the SFU reports to Prometheus. Counters are bumped with a plain `inc`; forwarding, per packet, through `forwarded`. */
export interface SfuMetrics {
  /** Include `forwarded` when read. */
  packetsForwarded: Counter<'kind'>;
  bytesForwarded: Counter<'kind'>;
  /** What the down tracks forwarded since the counters were last read, by kind. */
  forwarded: Record<'audio' | 'video', ForwardedTally>;
  nacksReceived: Counter;
  packetsRetransmitted: Counter;
  plisSent: Counter<'reason'>;
  /** A down track threw while forwarding; the packet still went to the others. */
  forwardErrors: Counter<'kind'>;
  /** Incoming packets not forwarded at all: duplicates, or too old to tell (RtpUnwrapper). */
  packetsDiscarded: Counter<'reason'>;
  dataMessages: Counter<'channel' | 'result'>;
  /** Exceptions thrown by event listeners and caught by TypedEmitter (each one a bug). */
  listenerErrors: Counter;
  /** Per receiver (not per message sent): messages not handed to one receiver, and receivers cut off as stalled. */
  dataReceiverDrops: Counter<'channel' | 'reason'>;
  connectSeconds: Histogram<'peer'>;
  /** ICE restarts begun, by peer connection (publisher: the client's re-offer; subscriber: the client's `iceRestart`). */
  iceRestarts: Counter<'peer'>;
  /** ICE restarts refused because the connection restarted too often (rtc.iceRestartBurst, rtc.iceRestartIntervalMs). */
  iceRestartsRefused: Counter<'peer'>;
  /** Time from an ICE restart to ICE connected again on the new candidate pair. */
  iceRestartSeconds: Histogram<'peer'>;
  /** Generic NACK packets the SFU sent to publishers (sfu/media/rtp/publisher-nack.ts). */
  publisherNacksSent: Counter;
  /** Packets lost on the way from a publisher, by outcome: `recovered` (retransmitted or late) or `unrecovered`. */
  publisherLostPackets: Counter<'result'>;
  /** NACK timers running for published tracks: zero while nothing is missing. */
  publisherNackTimers: Gauge;
  /** Subscribers' downlink estimates (sfu/bwe/send-side-estimator.ts), in bits per second. */
  subscriberDownlinkBps: Histogram;
  dynacastChanges: Counter;
  /** A down track started forwarding a higher (up) or lower (down) simulcast layer, and why (LayerSwitchReason). */
  layerSwitches: Counter<'direction' | 'reason'>;
  /** Video down tracks paused: the subscriber hides them, or its link cannot carry their lowest layer. */
  pausedDownTracks: Gauge;
  /** Bandwidth probes that ended, by result: success (reached 90 % of the target), failure, or none (told nothing). */
  probes: Counter<'result'>;
  /** Bytes of padding sent to probe subscribers' downlinks. */
  paddingBytes: Counter;
  /** Transport-wide feedback packets read from subscribers (what their downlink estimates are made of). */
  transportFeedback: Counter;
  /** Rooms' active-speaker lists that changed (each sent to everyone in the room as `activeSpeakers`). */
  activeSpeakerUpdates: Counter;
}

export interface SfuCounts {
  rooms(): number;
  participants(): number;
  publishedTracks(): number;
  subscribedTracks(): number;
  peerConnections(): number;
}

export function createSfuMetrics(registry: Registry, counts: SfuCounts): SfuMetrics {
  const gauge = (name: string, help: string, read: () => number) =>
    new Gauge({ name, help, registers: [registry], collect() { this.set(read()); } });
  gauge('tsfu_sfu_rooms', 'Rooms with at least one participant', () => counts.rooms());
  gauge('tsfu_sfu_participants', 'Participants in all rooms', () => counts.participants());
  gauge('tsfu_sfu_published_tracks', 'Tracks being published', () => counts.publishedTracks());
  gauge('tsfu_sfu_subscribed_tracks', 'Track subscriptions (down tracks)', () => counts.subscribedTracks());
  gauge('tsfu_sfu_peer_connections', 'Open WebRTC peer connections', () => counts.peerConnections());
  const forwarded: SfuMetrics['forwarded'] = { audio: { packets: 0, bytes: 0 }, video: { packets: 0, bytes: 0 } };
  const takeUp = (counter: Counter<'kind'>, field: keyof ForwardedTally) => {
    for (const kind of ['audio', 'video'] as const) {
      const pending = forwarded[kind][field];
      if (pending === 0) continue;
      forwarded[kind][field] = 0;
      counter.inc({ kind }, pending);
    }
  };
  return {
    packetsForwarded: new Counter({
      name: 'tsfu_sfu_forwarded_packets_total',
      help: 'RTP packets sent to subscribers',
      labelNames: ['kind'],
      registers: [registry],
      collect() {
        takeUp(this, 'packets');
      },
    }),
    bytesForwarded: new Counter({
      name: 'tsfu_sfu_forwarded_bytes_total',
      help: 'RTP payload bytes sent to subscribers',
      labelNames: ['kind'],
      registers: [registry],
      collect() {
        takeUp(this, 'bytes');
      },
    }),
    forwarded,
    nacksReceived: new Counter({ name: 'tsfu_sfu_nacks_received_total', help: 'Generic NACK feedback messages from subscribers', registers: [registry] }),
    packetsRetransmitted: new Counter({ name: 'tsfu_sfu_retransmitted_packets_total', help: 'Packets resent from the cache to answer NACKs', registers: [registry] }),
    plisSent: new Counter({ name: 'tsfu_sfu_plis_sent_total', help: 'Key-frame requests sent to publishers', labelNames: ['reason'], registers: [registry] }),
    forwardErrors: new Counter({ name: 'tsfu_sfu_forward_errors_total', help: 'Packets a down track failed to forward (the others still got them)', labelNames: ['kind'], registers: [registry] }),
    packetsDiscarded: new Counter({ name: 'tsfu_sfu_discarded_packets_total', help: 'Incoming RTP packets dropped before forwarding, by reason (duplicate, stale)', labelNames: ['reason'], registers: [registry] }),
    dataMessages: new Counter({ name: 'tsfu_sfu_data_messages_total', help: 'Data-channel messages sent by participants, by channel and outcome', labelNames: ['channel', 'result'], registers: [registry] }),
    listenerErrors: new Counter({ name: 'tsfu_sfu_listener_errors_total', help: 'Exceptions thrown by event listeners, caught by the SFU (a bug)', registers: [registry] }),
    dataReceiverDrops: new Counter({
      name: 'tsfu_sfu_data_receiver_drops_total',
      help: 'Data messages not passed to one receiver (buffer-full, too-large) and receivers disconnected as stalled (receiver-stalled)',
      labelNames: ['channel', 'reason'],
      registers: [registry],
    }),
    publisherNacksSent: new Counter({ name: 'tsfu_sfu_publisher_nacks_sent_total', help: 'Generic NACK packets sent to publishers', registers: [registry] }),
    publisherLostPackets: new Counter({ name: 'tsfu_sfu_publisher_lost_packets_total', help: 'Packets lost from publishers, by result (recovered or unrecovered)', labelNames: ['result'], registers: [registry] }),
    publisherNackTimers: new Gauge({ name: 'tsfu_sfu_publisher_nack_timers', help: 'NACK timers running for published tracks (zero while nothing is missing)', registers: [registry] }),
    dynacastChanges: new Counter({
      name: 'tsfu_sfu_dynacast_changes_total',
      help: 'Publishers told to send more (up) or fewer (down) simulcast layers, as subscribers need them',
      labelNames: ['direction'],
      registers: [registry],
    }),
    layerSwitches: new Counter({
      name: 'tsfu_sfu_layer_switches_total',
      help: 'Down tracks that started forwarding a higher (up) or lower (down) simulcast layer, by reason: bandwidth (the subscriber\'s downlink), settings (its tile size, quality or visibility), availability (the publisher started or stopped a layer)',
      labelNames: ['direction', 'reason'],
      registers: [registry],
    }),
    probes: new Counter({ name: 'tsfu_sfu_probes_total', help: 'Bandwidth probes of subscriber downlinks that ended, by result', labelNames: ['result'], registers: [registry] }),
    transportFeedback: new Counter({ name: 'tsfu_sfu_subscriber_transport_feedback_total', help: 'Transport-wide feedback packets read from subscribers (their downlink estimates are made of them)', registers: [registry] }),
    activeSpeakerUpdates: new Counter({ name: 'tsfu_sfu_active_speaker_updates_total', help: "Changes of rooms' active-speaker lists (each sent to the whole room)", registers: [registry] }),
    paddingBytes: new Counter({ name: 'tsfu_sfu_padding_bytes_total', help: 'Bytes of padding sent to probe subscriber downlinks', registers: [registry] }),
    pausedDownTracks: new Gauge({ name: 'tsfu_sfu_paused_down_tracks', help: 'Video down tracks paused (hidden by the subscriber, or no room on its link)', registers: [registry] }),
    subscriberDownlinkBps: new Histogram({
      name: 'tsfu_sfu_subscriber_downlink_estimate_bps',
      help: "Subscribers' downlink estimates (send-side, from transport-wide feedback), at most one observation per connection per second",
      buckets: [100e3, 250e3, 500e3, 750e3, 1e6, 1.5e6, 2.5e6, 4e6, 6e6, 10e6, 20e6],
      registers: [registry],
    }),
    connectSeconds: new Histogram({
      name: 'tsfu_sfu_connect_seconds',
      help: 'Time from the first description to ICE+DTLS connected',
      labelNames: ['peer'],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10],
      registers: [registry],
    }),
    iceRestarts: new Counter({ name: 'tsfu_sfu_ice_restarts_total', help: 'ICE restarts begun, by peer connection (publisher or subscriber)', labelNames: ['peer'], registers: [registry] }),
    iceRestartsRefused: new Counter({
      name: 'tsfu_sfu_ice_restarts_refused_total',
      help: 'ICE restarts refused (RATE_LIMITED) because the connection restarted more often than rtc.iceRestartBurst / rtc.iceRestartIntervalMs allow',
      labelNames: ['peer'],
      registers: [registry],
    }),
    iceRestartSeconds: new Histogram({
      name: 'tsfu_sfu_ice_restart_seconds',
      help: 'Time from an ICE restart to ICE connected again on the new candidate pair',
      labelNames: ['peer'],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10],
      registers: [registry],
    }),
  };
}
