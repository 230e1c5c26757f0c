/** Options of the SFU; the server composes them into its config and validates them at start-up. */
export interface SfuOptions {
  /** Local address ICE binds its UDP sockets to. */
  listenIp: string;
  /** Address announced in ICE candidates (1:1 NAT); the listen address when empty. */
  announcedIp: string;
  /** Inclusive UDP port range for media; each peer connection takes one port. */
  portMin: number;
  portMax: number;
  /**
   * One UDP port for every peer connection of the node (sfu/peer/udp-mux.ts), instead of a port of the range each;
   * -1: off (the range), 0: a port the OS picks (tests).
   */
  udpPort: number;
  /** ICE-TCP passive candidates (RFC 6544) of every peer connection on this one TCP port (sfu/peer/tcp-mux.ts); -1: none. Needs udpPort. */
  tcpPort: number;
  /** Largest data-channel message payload a participant may send. */
  maxDataMessageBytes: number;
  /** Subscribers' PLI/FIR are forwarded to the publisher at most this often per track. */
  pliMinIntervalMs: number;
  /** RTP packets kept per published video track to answer NACKs. Power of two. */
  packetCacheSize: number;
  /** Data messages one participant may send per second, and the burst allowed above it (RATE_LIMITED past it). */
  dataMessagesPerSecond: number;
  dataMessageBurst: number;
  /** Data bytes (whole messages) one participant may send per second, and the burst allowed above it. */
  dataBytesPerSecond: number;
  dataBytesBurst: number;
  /** Lossy messages to a receiver whose channel has more than this many bytes buffered are dropped. */
  dataLossyMaxBufferedBytes: number;
  /** A receiver whose reliable channel stays above this many buffered bytes for `dataStallTimeoutMs` is disconnected. */
  dataReliableHighWaterBytes: number;
  dataStallTimeoutMs: number;
  /** Tracks one participant may publish; an offer that would publish more is refused (LIMIT_EXCEEDED). */
  maxTracksPerParticipant: number;
  /** Tracks one participant may receive at once (200: a room of 100 with camera and microphone); auto-subscription stops there and `subscribe` is refused past it. */
  maxSubscriptionsPerParticipant: number;
  /** A subscriber offer not answered within this time is sent again once, then the participant is closed. */
  subscriberAnswerTimeoutMs: number;
  /** A media connection not connected this long after it was created is given up (CONNECTION_FAILED, 4009). */
  connectTimeoutMs: number;
  /**
   * ICE restarts one peer connection may make in a row (docs/PROTOCOL.md, "ICE restart"), and how often it earns
   * another one after that; a restart past them is refused (RATE_LIMITED).
   */
  iceRestartBurst: number;
  iceRestartIntervalMs: number;
  /** Changes to a subscriber's tracks made within this window share one offer (joins of a busy room come in bursts). */
  negotiationDelayMs: number;
  /**
   * Lower subscribers' layers (and pause tracks) to fit their downlink estimates, and probe for more when they lack
   * it (docs/BANDWIDTH.md). Off: estimates are still made and observed, every track gets what its subscriber wants.
   */
  bandwidthAllocation: boolean;
  /** Dynacast: tell publishers which simulcast layers some subscriber receives, so they stop encoding the others. */
  dynacast: boolean;
}

export const defaultSfuOptions: SfuOptions = {
  listenIp: '127.0.0.1',
  announcedIp: '',
  portMin: 40000,
  portMax: 49999,
  udpPort: -1,
  tcpPort: -1,
  maxDataMessageBytes: 16 * 1024,
  pliMinIntervalMs: 500,
  packetCacheSize: 1024,
  dataMessagesPerSecond: 100,
  dataMessageBurst: 200,
  dataBytesPerSecond: 256 * 1024,
  dataBytesBurst: 512 * 1024,
  dataLossyMaxBufferedBytes: 64 * 1024,
  dataReliableHighWaterBytes: 1024 * 1024,
  dataStallTimeoutMs: 5_000,
  maxTracksPerParticipant: 4,
  maxSubscriptionsPerParticipant: 200,
  subscriberAnswerTimeoutMs: 10_000,
  connectTimeoutMs: 30_000,
  iceRestartBurst: 3,
  iceRestartIntervalMs: 10_000,
  negotiationDelayMs: 50,
  bandwidthAllocation: true,
  dynacast: true,
};
