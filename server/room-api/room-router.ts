import { ClusterUnavailableError, type Cluster, type NodeInfo } from '../../cluster/index.js';
import { ApiError } from './api-error.js';

/** Where a per-room request is served. */
export type RoomOwner = { kind: 'here' } | { kind: 'node'; nodeId: string; url: string };

/** A node's HTTP origin, from its signaling URL (ws://host:port/v1/rtc -> http://host:port): nodes reach each other there. */
export function httpOrigin(signalingUrl: string): string {
  const url = new URL(signalingUrl);
  url.protocol = url.protocol === 'wss:' ? 'https:' : 'http:';
  return url.origin;
}

const unavailable = (error: ClusterUnavailableError) => new ApiError(503, 'ROOM_UNAVAILABLE', `${error.message}; retry`);

/** Finds the node of a room, or every other node, through the cluster (a single node is always the owner). */
export class RoomRouter {
  constructor(private readonly cluster: Cluster) {}

  /** The node serving `room`; with `place`, a room nobody serves is placed first (as a first join would). */
  async owner(room: string, place: boolean): Promise<RoomOwner | undefined> {
    try {
      const placement = place ? await this.cluster.locate(room) : await this.cluster.find(room);
      if (!placement) return undefined;
      return placement.kind === 'local' ? { kind: 'here' } : { kind: 'node', nodeId: placement.node.id, url: httpOrigin(placement.node.signalingUrl) };
    } catch (error) {
      if (error instanceof ClusterUnavailableError) throw unavailable(error);
      throw error;
    }
  }

  /** Every live node but this one, with its HTTP origin. */
  async otherNodes(): Promise<{ id: string; url: string }[]> {
    let nodes: NodeInfo[];
    try {
      nodes = await this.cluster.nodes();
    } catch (error) {
      throw new ApiError(503, 'ROOM_UNAVAILABLE', `cannot list the cluster's nodes: the store is unreachable (${(error as Error).message}); retry`);
    }
    return nodes.filter((node) => node.id !== this.cluster.nodeId && node.signalingUrl).map((node) => ({ id: node.id, url: httpOrigin(node.signalingUrl) }));
  }
}
