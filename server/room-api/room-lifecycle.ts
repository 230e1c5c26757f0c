import type { Logger } from 'pino';
import type { Cluster } from '../../cluster/index.js';
import type { Sfu } from '../../sfu/index.js';
import type { RoomRegistry } from './room-registry.js';

/**
 * Keeps the registry's records in step with the SFU's rooms and the cluster's leases: a room opened by a join gets a
 * record, a closed one is empty (its record goes, or its empty timer starts), a lease lost forgets the room.
 */
export function bindRoomRegistry(registry: RoomRegistry, sfu: Sfu, cluster: Cluster, logger: Logger): void {
  sfu.observer.on('roomCreated', (room) => registry.opened(room.id));
  sfu.observer.on('roomClosed', (roomId) => {
    // A join may reopen the room in the same turn (a participant replaced): only a room still gone is empty.
    setImmediate(() => {
      if (sfu.findRoom(roomId)) return;
      registry.emptied(roomId);
      if (registry.keepsEmpty(roomId)) logger.debug({ roomId }, 'created room is empty: kept until its empty timeout');
    });
  });
  cluster.on('leaseLost', (lease) => registry.remove(lease.room));
}

/** When an API-created room's empty timeout ends: its lease goes (unless a join opened it meanwhile). */
export function releaseExpiredRoom(sfu: Sfu, cluster: Cluster, logger: Logger): (room: string) => void {
  return (room) => {
    if (sfu.findRoom(room)) return;
    logger.info({ roomId: room }, 'created room stayed empty for its empty timeout: closed');
    void cluster.release(room);
  };
}
