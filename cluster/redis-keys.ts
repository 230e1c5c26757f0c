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
  } as const;
}

export type RedisKeys = ReturnType<typeof redisKeys>;
