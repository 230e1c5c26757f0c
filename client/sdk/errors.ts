/** Named errors thrown by the SDK. Server error codes are listed in docs/PROTOCOL.md ("Errors"). */

/** Codes the SDK itself reports in `error` events; prefixed so they never collide with the server's codes. */
export const ClientErrorCode = {
  /** Applying a server offer/answer or creating our answer failed. */
  NEGOTIATION_FAILED: 'CLIENT_NEGOTIATION_FAILED',
  /** The browser refused a remote ICE candidate. */
  ICE_CANDIDATE_FAILED: 'CLIENT_ICE_CANDIDATE_FAILED',
  /** A signaling frame was not a JSON object with a string `type`. */
  MALFORMED_SERVER_MESSAGE: 'CLIENT_MALFORMED_SERVER_MESSAGE',
  /** A data-channel message was not a valid envelope. */
  MALFORMED_DATA: 'CLIENT_MALFORMED_DATA',
  /** The server's publishAnswer did not list a track for one of the offered m-lines. */
  TRACK_NOT_ACCEPTED: 'CLIENT_TRACK_NOT_ACCEPTED',
  /** The socket closed before the request was answered. */
  CONNECTION_CLOSED: 'CLIENT_CONNECTION_CLOSED',
  /** The server did not answer in time. */
  TIMEOUT: 'CLIENT_TIMEOUT',
} as const;
export type ClientErrorCode = (typeof ClientErrorCode)[keyof typeof ClientErrorCode];

/** A call on an object in the wrong state, e.g. `publish()` after `leave()`. */
export class InvalidStateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidStateError';
  }
}

/** The token's grants do not allow the call (checked locally before asking the server). */
export class PermissionDeniedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PermissionDeniedError';
  }
}

/** `unpublish()` of a track this client does not publish. */
export class TrackNotFoundError extends Error {
  constructor(readonly trackId: string) {
    super(`track ${trackId} is not published by this participant`);
    this.name = 'TrackNotFoundError';
  }
}

/**
 * The server refused a request (`join`, `publishOffer`) with an `error` message, or the socket closed or timed
 * out before the answer. `code` is the server's code (e.g. `TOKEN_EXPIRED`) or one of `ClientErrorCode`.
 */
export class RequestError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly requestType: string,
    readonly closeCode?: number,
  ) {
    super(message);
    this.name = 'RequestError';
  }
}
