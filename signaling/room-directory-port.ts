/**
 * Where rooms live, for a joining client (the server passes the cluster, which satisfies it structurally). Declared
 * here so signaling depends on an interface, not on the cluster.
 */
export type RoomLocation =
  /** Serve the room on this node. */
  | { kind: 'here' }
  /** Another node serves it: the client goes there (docs/PROTOCOL.md, `redirect`). */
  | { kind: 'elsewhere'; nodeId: string; signalingUrl: string };

export interface RoomDirectoryPort {
  /** Where `roomId` lives, placing it first if need be; throws a SignalingError when that cannot be known now. */
  locate(roomId: string): Promise<RoomLocation>;
  /** A join that located `roomId` here opened nothing after all (ROOM_NOT_FOUND): give the place up unless a room is here. */
  release?(roomId: string): void;
}

/** One node: every room is here. */
export const everyRoomHere: RoomDirectoryPort = { locate: async () => ({ kind: 'here' }) };
