import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';
import { ClusterUnavailableError, LocalCluster, RedisCluster, type Cluster, type NodeIdentity } from '../cluster/index.js';
import type { Sfu } from '../sfu/index.js';
import { CloseCode, ErrorCode, SignalingError, type RoomDirectoryPort, type SignalingService } from '../signaling/index.js';
import type { Config } from './config.js';

/**
 * The cluster as the rest of the server sees it: the room directory signaling asks on every join, the lease released
 * when a room empties, fencing when a lease is lost, and this node's load published every heartbeat.
 */
export class ClusterService {
  readonly cluster: Cluster;
  /** Mutable: the signaling URL is known once the server listens (port 0 in tests). */
  readonly identity: NodeIdentity;
  readonly #log: Logger;
  #loadTimer?: NodeJS.Timeout;
  #cpu = { at: performance.now(), usage: process.cpuUsage() };
  #forwardedBytes = 0;
  #sfu?: Sfu;
  /** Rooms the node keeps serving with nobody in them (created over the API, until their empty timeout). */
  #keepsEmpty: (roomId: string) => boolean = () => false;

  readonly #locations: Counter<'result'>;
  readonly #leasesLost: Counter;

  constructor(config: Config['cluster'], log: Logger, registry: Registry) {
    this.#log = log;
    this.#locations = new Counter({ name: 'tsfu_cluster_joins_located_total', help: 'Joins by where their room was: here, elsewhere (redirected) or unavailable (the store was away)', labelNames: ['result'], registers: [registry] });
    this.#leasesLost = new Counter({ name: 'tsfu_cluster_leases_lost_total', help: 'Rooms this node stopped serving because another node holds their lease now', registers: [registry] });
    const cluster = () => this.cluster;
    new Gauge({ name: 'tsfu_cluster_store_up', help: 'Whether the cluster store (Redis) answers; always 1 on a single node', registers: [registry], collect() { this.set(cluster().storeUp ? 1 : 0); } });
    new Gauge({ name: 'tsfu_cluster_leases', help: 'Room leases this node holds', registers: [registry], collect() { this.set(cluster().localRooms.size); } });
    this.identity = {
      nodeId: config.nodeId || `${hostname()}-${randomBytes(4).toString('hex')}`,
      signalingUrl: config.signalingUrl,
      mediaAddress: '',
      maxParticipants: config.maxParticipants,
    };
    const { redisUrl, nodeId: _id, signalingUrl: _url, maxParticipants: _max, ...timing } = config;
    this.cluster = redisUrl ? new RedisCluster(this.identity, { ...timing, url: redisUrl }, log) : new LocalCluster(this.identity);
  }

  /** What signaling asks on every join: a room held here is answered without the store. */
  readonly directory: RoomDirectoryPort = {
    locate: async (roomId) => {
      try {
        const placement = await this.cluster.locate(roomId);
        this.#locations.inc({ result: placement.kind === 'local' ? 'here' : 'elsewhere' });
        return placement.kind === 'local' ? { kind: 'here' } : { kind: 'elsewhere', nodeId: placement.node.id, signalingUrl: placement.node.signalingUrl };
      } catch (error) {
        if (!(error instanceof ClusterUnavailableError)) throw error;
        this.#locations.inc({ result: 'unavailable' });
        throw new SignalingError(ErrorCode.ROOM_UNAVAILABLE, `${error.message}; retry`, CloseCode.TRY_AGAIN_LATER);
      }
    },
    release: (roomId) => this.#releaseIfGone(roomId),
  };

  /**
   * Starts publishing this node once the server listens, and ties leases to the SFU's rooms: an emptied room's lease
   * goes, unless `keepsEmpty` says the node keeps serving it empty (a room created over the API, until its timeout).
   */
  async start(sfu: Sfu, signaling: SignalingService, urls: { signalingUrl: string; mediaAddress: string }, heartbeatMs: number, keepsEmpty: (roomId: string) => boolean = () => false): Promise<void> {
    this.identity.signalingUrl ||= urls.signalingUrl;
    this.identity.mediaAddress = urls.mediaAddress;
    this.#sfu = sfu;
    this.#keepsEmpty = keepsEmpty;
    sfu.observer.on('roomClosed', (roomId) => this.#releaseIfGone(roomId));
    this.cluster.on('leaseLost', (lease) => {
      this.#leasesLost.inc();
      this.#log.warn({ roomId: lease.room, epoch: lease.epoch }, 'another node serves this room now: closing it here');
      signaling.closeRoom(lease.room);
      sfu.findRoom(lease.room)?.close();
    });
    await this.cluster.start();
    this.#loadTimer = setInterval(() => void this.#publishLoad(sfu), heartbeatMs).unref();
    void this.#publishLoad(sfu);
    this.#log.info({ nodeId: this.identity.nodeId, signalingUrl: this.identity.signalingUrl, store: this.cluster instanceof RedisCluster ? 'redis' : 'none' }, 'cluster node started');
  }

  async close(): Promise<void> {
    clearInterval(this.#loadTimer);
    await this.cluster.close();
  }

  async #publishLoad(sfu: Sfu): Promise<void> {
    const now = performance.now();
    const usage = process.cpuUsage();
    const elapsedUs = (now - this.#cpu.at) * 1000;
    const cpu = elapsedUs > 0 ? (usage.user - this.#cpu.usage.user + usage.system - this.#cpu.usage.system) / elapsedUs : 0;
    const bytes = (await sfu.metrics.bytesForwarded.get()).values.reduce((sum, v) => sum + v.value, 0);
    const forwardedBps = elapsedUs > 0 ? ((bytes - this.#forwardedBytes) * 8e6) / elapsedUs : 0;
    this.#cpu = { at: now, usage };
    this.#forwardedBytes = bytes;
    const dump = sfu.dump();
    this.cluster.setLoad({ cpu: Math.round(cpu * 1000) / 1000, rooms: dump.rooms.length, participants: dump.participants, forwardedBps: Math.round(forwardedBps) });
  }

  /**
   * Gives the room's lease back once the turn is over, unless a join opened the room meanwhile (a participant replaced,
   * a join that lost a race) or the node keeps serving it empty (created over the API).
   */
  #releaseIfGone(roomId: string): void {
    setImmediate(() => {
      if (!this.#sfu?.findRoom(roomId) && !this.#keepsEmpty(roomId)) void this.cluster.release(roomId);
    });
  }
}
