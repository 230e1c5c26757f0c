/**
 * Every Redis key the cluster uses (LiveKit keeps its keys the same way). `prefix` lets several deployments share
 * one Redis; it defaults to `tsfu:`.
 */
export function redisKeys(prefix: string) {
  return {
    /** Sorted set: node id => wall-clock ms of its last publication. Members older than the node TTL are dead. */
    nodes: `${prefix}nodes`,
    /** String: a node's NodeInfo as JSON, expiring NODE_TTL after its last publication. */
    node: (nodeId: string) => `${prefix}node:${nodeId}`,
    /** String: a room's lease, `<nodeId> <epoch>`, expiring LEASE_TTL after its owner last renewed it. */
    room: (room: string) => `${prefix}room:${room}`,
    /** Integer: the last lease epoch granted, for every room (one counter: epochs only ever grow). */
    epoch: `${prefix}lease-epoch`,
    /**
     * Pub/sub channel (not a key) a node stays subscribed to while its process runs: Redis drops the subscription
     * as soon as the node's connection closes (the process died), long before its node key expires.
     */
    presence: (nodeId: string) => `${prefix}presence:${nodeId}`,
  } as const;
}

export type RedisKeys = ReturnType<typeof redisKeys>;
