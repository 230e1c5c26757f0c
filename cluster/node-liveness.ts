/** What Redis says about a node: whether its key is there, how long ago it published, whether its presence subscription is. */
export interface NodeSighting {
  /** Its key has not expired. */
  registered: boolean;
  /** Milliseconds since its last publication, by Redis' clock (the node TTL minus the key's PTTL). */
  silentMs: number;
  /** Its presence channel has a subscriber: the node's connection to Redis is open. */
  subscribed: boolean;
}

export type Liveness =
  | { state: 'alive' }
  | { state: 'dead' }
  /** Its connection closed, but it has not missed a heartbeat yet: dead in `deadInMs` unless it publishes meanwhile. */
  | { state: 'dying'; deadInMs: number };

/** A node is dead when it has not published for this many heartbeats and Redis has no connection of it. */
export const MISSED_HEARTBEATS_WITHOUT_CONNECTION = 1.5;

/**
 * Whether a node is alive. Its key expiring (the node TTL) is the rule for a node frozen or cut off with its
 * connections open. A process that died is faster to see: the kernel closes its sockets, Redis drops its presence
 * subscription at once, and it is dead as soon as it is also late for a heartbeat (by half a heartbeat: a node that
 * only lost its connection for a moment publishes again in time and keeps its rooms). `presenceVisible` (this
 * node sees its own subscription) is false when the store does not keep subscriptions visible (a proxy without
 * pub/sub, a forbidding ACL): then the TTL alone decides.
 */
export function judgeLiveness(node: NodeSighting, presenceVisible: boolean, heartbeatMs: number): Liveness {
  if (!node.registered) return { state: 'dead' };
  if (!presenceVisible || node.subscribed) return { state: 'alive' };
  const limitMs = heartbeatMs * MISSED_HEARTBEATS_WITHOUT_CONNECTION;
  return node.silentMs > limitMs ? { state: 'dead' } : { state: 'dying', deadInMs: limitMs - node.silentMs };
}
