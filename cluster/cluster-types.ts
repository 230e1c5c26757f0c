/** What a node tells the cluster about itself, republished every `heartbeatMs`. */
export interface NodeInfo {
  id: string;
  /** Where clients open the signaling WebSocket on this node, e.g. `ws://10.0.0.5:7880/rtc`. */
  signalingUrl: string;
  /** The address the node announces in its ICE candidates. */
  mediaAddress: string;
  /** `serving` takes new rooms; `draining` keeps its rooms but takes no new one. */
  state: 'serving' | 'draining';
  /** Participants the node accepts in all (0: no limit). */
  maxParticipants: number;
  load: NodeLoad;
  startedAt: number;
  /** Wall-clock ms of this publication. */
  updatedAt: number;
}

export interface NodeLoad {
  /** Share of one core the process used over the last interval (0..1+). */
  cpu: number;
  rooms: number;
  participants: number;
  /** Bits per second the node forwards to subscribers. */
  forwardedBps: number;
}

/** A room's lease: the node serving it, and the epoch the lease was granted with (higher is newer). */
export interface RoomLease {
  room: string;
  nodeId: string;
  epoch: number;
}

/** Where a room lives, as a joining client's node sees it. */
export type Placement =
  /** This node holds the lease: serve the room here. */
  | { kind: 'local'; lease: RoomLease }
  /** Another live node holds it: send the client there. */
  | { kind: 'remote'; lease: RoomLease; node: NodeInfo };

export interface ClusterEvents {
  /** This node learned it no longer holds a room's lease: it must stop serving the room at once (fencing). */
  leaseLost(lease: RoomLease): void;
  /** The store went away or came back (a single node is always up). */
  storeState(up: boolean): void;
}

/** How a node finds out and decides where rooms live. One implementation per deployment shape, chosen by config. */
export interface Cluster {
  readonly nodeId: string;
  /** Starts publishing this node (and renewing its leases). Resolves once the node is registered, or the store is down. */
  start(): Promise<void>;
  /** Rooms this node serves go into its published load; called by the server's stats loop. */
  setLoad(load: NodeLoad): void;
  /** A draining node takes no new rooms (placement skips it) and says so in its publication. */
  setDraining(draining: boolean): void;
  /**
   * Where `room` lives, placing it first if no live node holds it: on the least-loaded of two live serving nodes
   * picked at random (power of two choices), atomically, so that concurrent first joins agree.
   * Throws {@link ClusterUnavailableError} when placing needs the store and it is down.
   */
  locate(room: string): Promise<Placement>;
  /**
   * Where `room` lives if a live node holds it, without placing it (the room service API's per-room operations);
   * undefined when no live node serves it. Throws {@link ClusterUnavailableError} when the store is down.
   */
  find(room: string): Promise<Placement | undefined>;
  /** This node stops serving `room` (it emptied): compare-and-delete of its lease. Never throws. */
  release(room: string): Promise<void>;
  /** Whether the store answers (a single node has none to lose: always true). */
  readonly storeUp: boolean;
  /** Rooms whose lease this node holds. */
  readonly localRooms: ReadonlyMap<string, RoomLease>;
  /** Live nodes (this one included), as last read from the store. */
  nodes(): Promise<NodeInfo[]>;
  on<E extends keyof ClusterEvents>(event: E, listener: ClusterEvents[E]): void;
  close(): Promise<void>;
}
