/**
 * Stable, machine-readable error codes sent to clients in `{ type: 'error', code, message }`.
 * Documented in docs/PROTOCOL.md; never renumber or rename.
 */
export const ErrorCode = {
  MALFORMED_JSON: 'MALFORMED_JSON',
  NOT_AN_OBJECT: 'NOT_AN_OBJECT',
  UNKNOWN_MESSAGE_TYPE: 'UNKNOWN_MESSAGE_TYPE',
  SCHEMA_VIOLATION: 'SCHEMA_VIOLATION',
  BINARY_NOT_SUPPORTED: 'BINARY_NOT_SUPPORTED',
  NOT_JOINED: 'NOT_JOINED',
  ALREADY_JOINED: 'ALREADY_JOINED',
  WRONG_STATE: 'WRONG_STATE',
  TOKEN_MISSING: 'TOKEN_MISSING',
  TOKEN_INVALID: 'TOKEN_INVALID',
  TOKEN_EXPIRED: 'TOKEN_EXPIRED',
  TOKEN_NOT_YET_VALID: 'TOKEN_NOT_YET_VALID',
  WRONG_ROOM: 'WRONG_ROOM',
  PERMISSION_DENIED: 'PERMISSION_DENIED',
  UNSUPPORTED_PROTOCOL_VERSION: 'UNSUPPORTED_PROTOCOL_VERSION',
  ROOM_FULL: 'ROOM_FULL',
  TRACK_NOT_FOUND: 'TRACK_NOT_FOUND',
  INVALID_SDP: 'INVALID_SDP',
  RATE_LIMITED: 'RATE_LIMITED',
  CONNECTION_RATE_LIMITED: 'CONNECTION_RATE_LIMITED',
  DATA_TOO_LARGE: 'DATA_TOO_LARGE',
  DATA_STALLED: 'DATA_STALLED',
  LIMIT_EXCEEDED: 'LIMIT_EXCEEDED',
  CONNECTION_FAILED: 'CONNECTION_FAILED',
  NEGOTIATION_FAILED: 'NEGOTIATION_FAILED',
  JOIN_TIMEOUT: 'JOIN_TIMEOUT',
  SHUTTING_DOWN: 'SHUTTING_DOWN',
  /** Where the room lives cannot be known now (the cluster's store is away, or no node takes new rooms): retry. */
  ROOM_UNAVAILABLE: 'ROOM_UNAVAILABLE',
  /** `resume` found no session to take over (its grace period ended, or it missed more than the server kept): join. */
  RESUME_FAILED: 'RESUME_FAILED',
  /** The token does not grant roomCreate and the room does not exist (yet): wait for its teacher, then join again. */
  ROOM_NOT_FOUND: 'ROOM_NOT_FOUND',
  /** A moderation request named an identity that is not in the room. */
  PARTICIPANT_NOT_FOUND: 'PARTICIPANT_NOT_FOUND',
  INTERNAL: 'INTERNAL',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/**
 * WebSocket close codes (RFC 6455 §7.4: 4000–4999 are ours). A client can tell from the code alone
 * whether reconnecting with the same token can help.
 */
export const CloseCode = {
  NORMAL: 1000,
  GOING_AWAY: 1001,
  /** RFC 6455 §7.4.1 (IANA registry): the server cannot serve the request now; the same join may succeed later. */
  TRY_AGAIN_LATER: 1013,
  POLICY_VIOLATION: 1008,
  MESSAGE_TOO_BIG: 1009,
  /** Sent by a client that gave up on an unresponsive socket and resumes its session on a new one. */
  RESUMING: 4000,
  UNAUTHORIZED: 4001,
  TOKEN_EXPIRED: 4002,
  WRONG_ROOM: 4003,
  REPLACED: 4004,
  HEARTBEAT_TIMEOUT: 4005,
  JOIN_TIMEOUT: 4006,
  ROOM_FULL: 4007,
  DATA_STALLED: 4008,
  CONNECTION_FAILED: 4009,
  NEGOTIATION_FAILED: 4010,
  /** The room is served by another node: a `redirect` message named it; join there. */
  REDIRECT: 4011,
  /** This node no longer serves the room (it moved to another node): join again, anywhere. */
  ROOM_MOVED: 4012,
  /** A moderator removed this participant: do not reconnect. */
  REMOVED: 4013,
  /** The room does not exist and the token may not create it (roomCreate false). */
  ROOM_NOT_FOUND: 4014,
  /** The room was deleted (room service API, `DELETE /api/v1/rooms/:room`): final, the SDK does not reconnect. */
  ROOM_DELETED: 4015,
  RATE_LIMITED: 4029,
  SERVER_SHUTDOWN: 4050,
} as const;
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

/**
 * An error that a request handler turns into an `error` reply; `close` also closes the socket.
 * `requestType` names the request when it is known before a handler runs (a schema violation).
 */
export class SignalingError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly close?: CloseCode,
    readonly requestType?: string,
    /** The request's `requestId`, echoed in the error reply. */
    public requestId?: number,
  ) {
    super(message);
    this.name = 'SignalingError';
  }
}
