import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { ClusterListeners } from './cluster-listeners.js';
import { describeNode, type NodeIdentity, type RedisClusterOptions } from './cluster-options.js';
import type { Cluster, ClusterEvents, NodeInfo, NodeLoad, Placement, RoomLease } from './cluster-types.js';
import { ClusterUnavailableError } from './errors.js';
import { ACQUIRE_LEASE, RELEASE_LEASE, RENEW_LEASE } from './lease-scripts.js';
import { judgeLiveness, type Liveness } from './node-liveness.js';
import { chooseNode } from './placement.js';
import { redisKeys, type RedisKeys } from './redis-keys.js';

interface LeaseCommands {
  acquireLease(roomKey: string, epochKey: string, nodeId: string, ttlMs: number, replaceable: string): Promise<string>;
  renewLease(roomKey: string, epochKey: string, held: string, ttlMs: number): Promise<number>;
  releaseLease(roomKey: string, held: string): Promise<number>;
}

interface SeenNode {
  id: string;
  /** Its publication, while its key lasts. */
  info?: NodeInfo;
  liveness: Liveness;
}

interface HeldLease extends RoomLease {
  /** performance.now() of the last renewal Redis confirmed. */
  confirmedAt: number;
}

const plainLease = ({ room, nodeId, epoch }: RoomLease): RoomLease => ({ room, nodeId, epoch });
const leaseValue = (lease: { nodeId: string; epoch: number }) => `${lease.nodeId} ${lease.epoch}`;

function parseLease(room: string, value: string): RoomLease | undefined {
  const [nodeId, epoch] = value.split(' ');
  const n = Number(epoch);
  return nodeId && Number.isSafeInteger(n) ? { room, nodeId, epoch: n } : undefined;
}

/**
 * Nodes coordinated through Redis (LiveKit's RedisRouter, with leases): each node publishes itself every heartbeat;
 * a room is placed once, by an atomic lease with an owner and an epoch that its owner renews; a dead owner's lease
 * is taken over at the next join. The store going away stops nothing that runs: leases are only given up on a
 * definite answer from Redis that another node holds them (fencing), never on an error.
 */
export class RedisCluster implements Cluster {
  readonly nodeId: string;
  readonly #identity: NodeIdentity;
  readonly #options: RedisClusterOptions;
  readonly #keys: RedisKeys;
  readonly #redis: Redis & LeaseCommands;
  /** A second connection, subscribed to this node's presence channel for as long as the process lives. */
  readonly #presence: Redis;
  readonly #log: Logger;
  readonly #listeners: ClusterListeners;
  readonly #held = new Map<string, HeldLease>();
  readonly #startedAt = Date.now();
  #load: NodeLoad = { cpu: 0, rooms: 0, participants: 0, forwardedBps: 0 };
  #draining = false;
  #storeUp = false;
  #heartbeat?: NodeJS.Timeout;
  #renewal?: NodeJS.Timeout;
  #closed = false;

  constructor(identity: NodeIdentity, options: RedisClusterOptions, log: Logger) {
    this.nodeId = identity.nodeId;
    this.#identity = identity;
    this.#options = options;
    this.#keys = redisKeys(options.keyPrefix);
    this.#log = log;
    this.#listeners = new ClusterListeners((error, event) => log.error({ err: error, event }, 'cluster listener threw'));
    // No offline queue: while Redis is away a command fails at once (a join gets a retryable error) instead of
    // waiting; ioredis keeps reconnecting in the background.
    const redis = new Redis(options.url, {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: options.commandTimeoutMs,
      retryStrategy: (attempt) => Math.min(100 * 2 ** Math.min(attempt, 5), 2000),
    });
    redis.defineCommand('acquireLease', { numberOfKeys: 2, lua: ACQUIRE_LEASE });
    redis.defineCommand('renewLease', { numberOfKeys: 2, lua: RENEW_LEASE });
    redis.defineCommand('releaseLease', { numberOfKeys: 1, lua: RELEASE_LEASE });
    redis.on('ready', () => this.#setStoreUp(true));
    redis.on('close', () => this.#setStoreUp(false));
    redis.on('error', (error: Error) => log.debug({ err: error.message }, 'redis error'));
    this.#redis = redis as Redis & LeaseCommands;
    // Its subscription is queued until connected, and ioredis subscribes again after every reconnection.
    this.#presence = new Redis(options.url, { lazyConnect: true, maxRetriesPerRequest: null, retryStrategy: (attempt) => Math.min(100 * 2 ** Math.min(attempt, 5), 2000) });
    this.#presence.on('error', (error: Error) => log.debug({ err: error.message }, 'redis presence connection error'));
  }

  get localRooms(): ReadonlyMap<string, RoomLease> {
    return this.#held;
  }

  get storeUp(): boolean {
    return this.#storeUp;
  }

  async start(): Promise<void> {
    this.#heartbeat = setInterval(() => void this.#publish(), this.#options.heartbeatMs);
    this.#renewal = setInterval(() => void this.#renewAll(), this.#options.leaseRenewMs);
    this.#presence.connect().catch(() => undefined);
    this.#presence.subscribe(this.#keys.presence(this.nodeId)).catch((error: Error) => this.#log.debug({ err: error.message }, 'presence subscription failed'));
    try {
      await this.#redis.connect();
    } catch (error) {
      // The node serves without the store; ioredis keeps trying, and 'ready' publishes it.
      this.#log.warn({ err: (error as Error).message, url: this.#options.url }, 'redis unreachable at start');
    }
  }

  setLoad(load: NodeLoad): void {
    this.#load = load;
  }

  setDraining(draining: boolean): void {
    this.#draining = draining;
    void this.#publish();
  }

  async locate(room: string): Promise<Placement> {
    const held = this.#held.get(room);
    if (held) {
      // A lease not confirmed for a whole TTL (the process was paused, or Redis away) is checked before it is used.
      if (performance.now() - held.confirmedAt > this.#options.leaseTtlMs) await this.#renew(held);
      const still = this.#held.get(room);
      if (still) return { kind: 'local', lease: plainLease(still) };
    }
    try {
      return await this.#place(room);
    } catch (error) {
      if (error instanceof ClusterUnavailableError) throw error;
      throw new ClusterUnavailableError(`cannot place room: the cluster store is unreachable (${(error as Error).message})`);
    }
  }

  async find(room: string): Promise<Placement | undefined> {
    const held = this.#held.get(room);
    if (held) return { kind: 'local', lease: plainLease(held) };
    let current: string | null;
    try {
      current = await this.#redis.get(this.#keys.room(room));
    } catch (error) {
      throw new ClusterUnavailableError(`cannot find room: the cluster store is unreachable (${(error as Error).message})`);
    }
    const lease = current === null ? undefined : parseLease(room, current);
    // A lease naming this node that it does not hold was released, or never taken up: nobody serves the room.
    if (!lease || lease.nodeId === this.nodeId) return undefined;
    const [owner] = await this.#sight([lease.nodeId]).catch((error: Error) => {
      throw new ClusterUnavailableError(`cannot find room: the cluster store is unreachable (${error.message})`);
    });
    return owner.info && owner.liveness.state !== 'dead' ? { kind: 'remote', lease, node: owner.info } : undefined;
  }

  async release(room: string): Promise<void> {
    const held = this.#held.get(room);
    if (!held) return;
    this.#held.delete(room);
    try {
      await this.#redis.releaseLease(this.#keys.room(room), leaseValue(held));
    } catch {
      // Redis away: the lease expires by itself, and nobody renews it.
    }
  }

  async nodes(): Promise<NodeInfo[]> {
    const since = Date.now() - this.#options.nodeTtlMs;
    const seen = await this.#sight(await this.#redis.zrangebyscore(this.#keys.nodes, since, '+inf'));
    return seen.flatMap((node) => (node.info && node.liveness.state !== 'dead' ? [node.info] : []));
  }

  on<E extends keyof ClusterEvents>(event: E, listener: ClusterEvents[E]): void {
    this.#listeners.add(event, listener);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#heartbeat);
    clearInterval(this.#renewal);
    for (const room of [...this.#held.keys()]) await this.release(room);
    try {
      // Gone at once rather than after the node TTL: no join is sent to a node that has stopped.
      await this.#redis.multi().del(this.#keys.node(this.nodeId)).zrem(this.#keys.nodes, this.nodeId).exec();
    } catch {
      // Redis away: the node's key expires by itself.
    }
    this.#listeners.clear();
    this.#presence.disconnect();
    this.#redis.disconnect();
  }

  /** Places `room`: the lease in force if its owner is alive, else a new lease for a chosen node. */
  async #place(room: string, waited = false): Promise<Placement> {
    const roomKey = this.#keys.room(room);
    const current = await this.#redis.get(roomKey);
    let replaceable = '';
    if (current !== null) {
      const lease = parseLease(room, current);
      if (lease && lease.nodeId === this.nodeId && !this.#draining) return this.#adopt(lease);
      if (lease && lease.nodeId !== this.nodeId) {
        const [owner] = await this.#sight([lease.nodeId]);
        const { liveness } = owner;
        if (liveness.state === 'dying' && !waited) {
          // Its process has most likely died: hold the join until that is certain (under a heartbeat and a half)
          // rather than send the client to a dead node and have it back after its backoff.
          await new Promise((resolve) => setTimeout(resolve, liveness.deadInMs + 20));
          return this.#place(room, true);
        }
        if (owner.info && owner.liveness.state !== 'dead') return { kind: 'remote', lease, node: owner.info };
        this.#log.info({ room, nodeId: lease.nodeId, epoch: lease.epoch }, "the room's node is dead: placing the room again");
      }
      // Its owner is dead (or it is this draining node's, not yet used): the room is placed again.
      replaceable = current;
    }
    const live = await this.nodes();
    const chosen = chooseNode(live) ?? (this.#draining ? undefined : this.#self());
    if (!chosen) throw new ClusterUnavailableError('no node accepts new rooms');
    const value = await this.#redis.acquireLease(roomKey, this.#keys.epoch, chosen.id, this.#options.leaseTtlMs, replaceable);
    const lease = parseLease(room, value);
    if (!lease) throw new ClusterUnavailableError(`room ${room} has a malformed lease`);
    if (lease.nodeId === this.nodeId) return this.#adopt(lease);
    const [seen] = lease.nodeId === chosen.id ? [] : await this.#sight([lease.nodeId]);
    const owner = seen ? (seen.liveness.state === 'dead' ? undefined : seen.info) : chosen;
    if (!owner) throw new ClusterUnavailableError(`room ${room} is placed on node ${lease.nodeId}, which is not live`);
    this.#log.info({ room, nodeId: lease.nodeId, epoch: lease.epoch }, 'room placed on another node');
    return { kind: 'remote', lease, node: owner };
  }

  #adopt(lease: RoomLease): Placement {
    const held: HeldLease = { ...lease, confirmedAt: performance.now() };
    this.#held.set(lease.room, held);
    this.#log.info({ room: lease.room, epoch: lease.epoch }, 'room lease held');
    return { kind: 'local', lease: plainLease(held) };
  }

  /** What Redis says about each of `ids` (its NodeInfo while registered, and whether it is alive), in one round trip. */
  async #sight(ids: readonly string[]): Promise<SeenNode[]> {
    if (ids.length === 0) return [];
    const pipeline = this.#redis.pipeline();
    for (const id of ids) pipeline.get(this.#keys.node(id)).pttl(this.#keys.node(id));
    pipeline.pubsub('NUMSUB', this.#keys.presence(this.nodeId), ...ids.map((id) => this.#keys.presence(id)));
    const replies = (await pipeline.exec()) ?? [];
    for (const [error] of replies.slice(0, 2 * ids.length)) if (error) throw error;
    // [channel, count, channel, count, ...], this node's own first; an error (no pub/sub here) leaves the TTL alone to decide.
    const [numsubError, numsub] = replies[2 * ids.length] ?? [new Error('no reply')];
    const counts = numsubError ? undefined : (numsub as (string | number)[]);
    const presenceVisible = counts !== undefined && Number(counts[1]) > 0;
    return ids.map((id, i) => {
      const value = replies[2 * i][1] as string | null;
      const ttl = replies[2 * i + 1][1] as number;
      const sighting = {
        registered: value !== null,
        silentMs: ttl >= 0 ? this.#options.nodeTtlMs - ttl : 0,
        subscribed: counts === undefined || Number(counts[2 * i + 3]) > 0,
      };
      return { id, info: value ? (JSON.parse(value) as NodeInfo) : undefined, liveness: judgeLiveness(sighting, presenceVisible, this.#options.heartbeatMs) };
    });
  }

  #self(): NodeInfo {
    return describeNode(this.#identity, this.#draining, this.#load, this.#startedAt);
  }

  async #publish(): Promise<void> {
    if (this.#closed || !this.#storeUp) return;
    const self = this.#self();
    const ttl = this.#options.nodeTtlMs;
    try {
      await this.#redis
        .multi()
        .set(this.#keys.node(this.nodeId), JSON.stringify(self), 'PX', ttl)
        .zadd(this.#keys.nodes, self.updatedAt, this.nodeId)
        // Members whose key has long expired: nodes that died without closing.
        .zremrangebyscore(this.#keys.nodes, '-inf', self.updatedAt - 10 * ttl)
        .exec();
    } catch (error) {
      this.#log.debug({ err: (error as Error).message }, 'node publication failed');
    }
  }

  async #renewAll(): Promise<void> {
    if (this.#closed || !this.#storeUp) return;
    await Promise.all([...this.#held.values()].map((held) => this.#renew(held)));
  }

  /** Renews one lease; loses it only on Redis' answer that another node holds it. */
  async #renew(held: HeldLease): Promise<void> {
    let answer: number;
    try {
      answer = await this.#redis.renewLease(this.#keys.room(held.room), this.#keys.epoch, leaseValue(held), this.#options.leaseTtlMs);
    } catch {
      return; // Redis away: keep serving; the renewal after it returns re-asserts the lease.
    }
    if (this.#held.get(held.room) !== held) return;
    if (answer === 1) {
      held.confirmedAt = performance.now();
      return;
    }
    this.#held.delete(held.room);
    this.#log.warn({ room: held.room, epoch: held.epoch }, 'room lease lost to another node: no longer serving it');
    this.#listeners.emit('leaseLost', plainLease(held));
  }

  #setStoreUp(up: boolean): void {
    if (up === this.#storeUp || this.#closed) return;
    this.#storeUp = up;
    this.#log[up ? 'info' : 'warn']({ url: this.#options.url }, up ? 'cluster store reachable' : 'cluster store unreachable');
    this.#listeners.emit('storeState', up);
    // Back: re-register at once and re-assert every lease by its epoch.
    if (up) void this.#publish().then(() => this.#renewAll());
  }
}
