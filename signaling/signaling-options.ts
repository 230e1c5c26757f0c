/** Options of the signaling layer; the server composes them into its config. */
export interface SignalingOptions {
  /** Frames larger than this close the socket with 1009. */
  maxMessageBytes: number;
  /** Sustained messages per second per connection, and the burst allowed above it. */
  messagesPerSecond: number;
  messageBurst: number;
  /** Requests a connection may have waiting while an earlier one is handled (one at a time, in order); more are refused. */
  maxQueuedMessages: number;
  /** New connections per IP address per second, and the burst allowed above it. */
  connectionsPerIpPerSecond: number;
  connectionBurstPerIp: number;
  maxParticipantsPerRoom: number;
  joinTimeoutMs: number;
  heartbeatIntervalMs: number;
  heartbeatTimeoutMs: number;
  /**
   * How long a joined participant whose socket dropped (not a `leave`) stays in the room, media flowing, for its
   * client to `resume` the session on a new socket; 0: leaves at once.
   */
  resumeGraceMs: number;
  /** Allowed clock skew when checking a token's exp and nbf. */
  tokenClockToleranceSeconds: number;
}

export const defaultSignalingOptions: SignalingOptions = {
  // A subscriber answer for rtc.maxSubscriptionsPerParticipant (200) tracks is up to ~200 kB of SDP, more once
  // JSON-escaped (messages.ts, Sdp): an SDP at the 250,000-character cap always fits.
  maxMessageBytes: 512 * 1024,
  messagesPerSecond: 50,
  messageBurst: 100,
  maxQueuedMessages: 32,
  connectionsPerIpPerSecond: 5,
  connectionBurstPerIp: 30,
  maxParticipantsPerRoom: 100,
  joinTimeoutMs: 10_000,
  heartbeatIntervalMs: 5_000,
  heartbeatTimeoutMs: 15_000,
  tokenClockToleranceSeconds: 5,
  resumeGraceMs: 20_000,
};
