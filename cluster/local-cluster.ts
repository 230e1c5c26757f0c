import type { Cluster, ClusterEvents, NodeInfo, NodeLoad, Placement, RoomLease } from './cluster-types.js';
import { describeNode, type NodeIdentity } from './cluster-options.js';
import { ClusterUnavailableError } from './errors.js';

/** One node, no store (the default): every room lives here. Leases exist so that the server's code is one. */
export class LocalCluster implements Cluster {
  readonly nodeId: string;
  readonly #identity: NodeIdentity;
  readonly #rooms = new Map<string, RoomLease>();
  readonly #startedAt = Date.now();
  #load: NodeLoad = { cpu: 0, rooms: 0, participants: 0, forwardedBps: 0 };
  #draining = false;
  #epoch = 0;

  constructor(identity: NodeIdentity) {
    this.nodeId = identity.nodeId;
    this.#identity = identity;
  }

  readonly storeUp = true;

  get localRooms(): ReadonlyMap<string, RoomLease> {
    return this.#rooms;
  }

  async start(): Promise<void> {}

  setLoad(load: NodeLoad): void {
    this.#load = load;
  }

  setDraining(draining: boolean): void {
    this.#draining = draining;
  }

  async locate(room: string): Promise<Placement> {
    let lease = this.#rooms.get(room);
    if (!lease) {
      if (this.#draining) throw new ClusterUnavailableError('this node is draining and takes no new rooms');
      lease = { room, nodeId: this.nodeId, epoch: ++this.#epoch };
      this.#rooms.set(room, lease);
    }
    return { kind: 'local', lease };
  }

  async find(room: string): Promise<Placement | undefined> {
    const lease = this.#rooms.get(room);
    return lease ? { kind: 'local', lease } : undefined;
  }

  async release(room: string): Promise<void> {
    this.#rooms.delete(room);
  }

  async nodes(): Promise<NodeInfo[]> {
    return [describeNode(this.#identity, this.#draining, this.#load, this.#startedAt)];
  }

  // A single node never loses a lease, and has no store to lose.
  on<E extends keyof ClusterEvents>(_event: E, _listener: ClusterEvents[E]): void {}

  async close(): Promise<void> {
    this.#rooms.clear();
  }
}
