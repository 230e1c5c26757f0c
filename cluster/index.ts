/** The cluster's public surface, for the server composition root. */
export type { Cluster, ClusterEvents, NodeInfo, NodeLoad, Placement, RoomLease } from './cluster-types.js';
export { defaultRedisClusterOptions, type NodeIdentity, type RedisClusterOptions } from './cluster-options.js';
export { ClusterUnavailableError } from './errors.js';
export { LocalCluster } from './local-cluster.js';
export { RedisCluster } from './redis-cluster.js';
