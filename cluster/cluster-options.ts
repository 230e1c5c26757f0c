import type { NodeInfo, NodeLoad } from './cluster-types.js';

/** What a node publishes about itself that does not change while it runs. */
export interface NodeIdentity {
  nodeId: string;
  signalingUrl: string;
  mediaAddress: string;
  /** Participants the node accepts in all (0: no limit). */
  maxParticipants: number;
}

/** What a node publishes about itself now. */
export function describeNode(identity: NodeIdentity, draining: boolean, load: NodeLoad, startedAt: number): NodeInfo {
  const { nodeId, signalingUrl, mediaAddress, maxParticipants } = identity;
  return { id: nodeId, signalingUrl, mediaAddress, maxParticipants, state: draining ? 'draining' : 'serving', load, startedAt, updatedAt: Date.now() };
}

/** The Redis cluster's timing and store. */
export interface RedisClusterOptions {
  /** ioredis URL, e.g. `redis://127.0.0.1:6379/0`. */
  url: string;
  /** Put before every key, so that deployments can share a Redis. */
  keyPrefix: string;
  /** A node republishes itself (and its load) this often. */
  heartbeatMs: number;
  /** A node that has not published for this long is dead: its key expires, and its rooms' leases may be taken. */
  nodeTtlMs: number;
  /** A room's lease lasts this long without renewal. */
  leaseTtlMs: number;
  /** The owner renews its leases this often. */
  leaseRenewMs: number;
  /** A Redis command that takes longer than this counts as the store being down. */
  commandTimeoutMs: number;
}

/**
 * Heartbeat 1 s and node TTL 3 s: a killed node is known dead within 3 s, so its rooms can move and media flow again
 * within the 5 s. A lease outlives a missed renewal or two (TTL 10 s, renewed every 2 s); a dead node's leases
 * are taken over as soon as the node is known dead, without waiting for them to expire.
 */
export const defaultRedisClusterOptions: Omit<RedisClusterOptions, 'url'> = {
  keyPrefix: 'tsfu:',
  heartbeatMs: 1000,
  nodeTtlMs: 3000,
  leaseTtlMs: 10_000,
  leaseRenewMs: 2000,
  commandTimeoutMs: 1000,
};
