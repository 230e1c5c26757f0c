/**
 * When the SDK joins again by itself, and how long it waits between tries (docs/PROTOCOL.md, "Reconnecting").
 * A socket closed for a reason that another join can fix (the node died or drains, the room moved, the connection
 * dropped) is retried; one the same token cannot fix (left, replaced, refused, expired) is final.
 */
const FINAL_CLOSE_CODES = new Set([
  1000, // normal: left
  1008, // policy violation: the client broke the protocol
  1009, // message too big
  4001, // unauthorized
  4002, // token expired
  4003, // wrong room
  4004, // replaced by a newer connection of the same identity
  4007, // room full
  4008, // data channel stalled: the client does not read
  4013, // removed by a moderator
  4015, // the room was deleted
  4029, // rate limited
]);

/** Join errors that another try with the same token cannot fix. */
const FINAL_JOIN_ERRORS = new Set(['TOKEN_INVALID', 'TOKEN_EXPIRED', 'TOKEN_NOT_YET_VALID', 'TOKEN_MISSING', 'WRONG_ROOM', 'PERMISSION_DENIED', 'ROOM_FULL', 'UNSUPPORTED_PROTOCOL_VERSION']);

export function reconnectAfterClose(code: number): boolean {
  return !FINAL_CLOSE_CODES.has(code);
}

export function retryJoinAfter(code: string): boolean {
  return !FINAL_JOIN_ERRORS.has(code);
}

/**
 * The n-th wait (from 0): exponential from 250 ms up to 2 s, with full jitter so that a room's clients spread out.
 * Capped low: a dead node is known to the cluster within 3 s (docs/CLUSTER.md), and a longer wait after that is
 * frozen video; a hundred clients each retrying every second on average is no load for a node.
 */
export function reconnectDelayMs(attempt: number, random: () => number = Math.random): number {
  return Math.round(random() * Math.min(2000, 250 * 2 ** attempt));
}
