/** Options of the signaling layer; the server composes them into its config. */
export interface SignalingOptions {
  /** Frames larger than this close the socket with 1009. */
  maxMessageBytes: number;
  /** Sustained messages per second per connection, and the burst allowed above it. */
  messagesPerSecond: number;
  messageBurst: number;
  /** New connections per IP address per second, and the burst allowed above it. */
  connectionsPerIpPerSecond: number;
  connectionBurstPerIp: number;
  maxParticipantsPerRoom: number;
  joinTimeoutMs: number;
  heartbeatIntervalMs: number;
  heartbeatTimeoutMs: number;
  /** Allowed clock skew when checking a token's exp and nbf. */
  tokenClockToleranceSeconds: number;
}

export const defaultSignalingOptions: SignalingOptions = {
  maxMessageBytes: 64 * 1024,
  messagesPerSecond: 50,
  messageBurst: 100,
  connectionsPerIpPerSecond: 5,
  connectionBurstPerIp: 30,
  maxParticipantsPerRoom: 100,
  joinTimeoutMs: 10_000,
  heartbeatIntervalMs: 5_000,
  heartbeatTimeoutMs: 15_000,
  tokenClockToleranceSeconds: 5,
};
