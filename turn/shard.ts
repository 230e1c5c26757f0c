// One relay thread's adapter ("shard"): a TurnCore, the UDP relay socket of each of its
// allocations, and its timer. Listeners (udp-listener.ts, tcp-listener.ts) hand it what their
// sockets receive; it performs the actions the core returns. The main thread runs one shard for
// TCP/TLS (and UDP when threads is 1); each UDP worker (udp-worker.ts) runs one. Nothing here
// throws out of a socket handler: every entry point is guarded, and the core does not throw.
import dgram from 'node:dgram';
import net from 'node:net';
import type { Allocation, ClientRef } from './allocation.js';
import type { TurnConfig } from './config.js';
import { TurnCore, type TurnAction } from './core.js';
import { createCredentialResolver } from './credentials.js';
import { PeerFilter } from './peer-filter.js';
import { ALLOCATIONS_CREATED, AUTH_FAILURES, DROPPED, HANDLER_ERRORS, REFUSED, RELAY_SOCKETS, TCP_CONNECTIONS } from './shard-counters.js';
import { shardState, type TurnMemory } from './shared-memory.js';
import { SEND_INDICATION_TYPE } from './stun/relay-codec.js';

/** The part of a pino logger a shard uses (a worker forwards these to the main thread's logger). */
export interface ShardLog {
  debug(fields: object, msg: string): void;
  info(fields: object, msg: string): void;
  error(fields: object, msg: string): void;
}

export interface Clock {
  /** Milliseconds since the epoch (Date.now() by default); also used for REST credential expiry. */
  now(): number;
}

export interface ShardInit {
  readonly config: TurnConfig;
  readonly memory: TurnMemory;
  readonly shard: number;
  readonly shards: number;
  readonly log: ShardLog;
  readonly clock: Clock;
}

const RELAY_RECV_BUFFER = 1 << 20;
/** Over TCP, stop queueing relayed data to a client that does not read (media is not retransmitted). */
const MAX_TCP_BACKLOG = 1 << 20;
const TICK_MS = 1000;

/**
 * dgram resolves every destination through dns.lookup, which for an IP literal still costs a
 * nextTick and a closure per packet. Destinations here are always IP literals: answer at once.
 */
export function literalLookup(family: 4 | 6) {
  return (address: string, _options: unknown, callback: (err: null, address: string, family: number) => void): void =>
    callback(null, address, family);
}

export class RelayShard {
  readonly core: TurnCore;
  readonly counters: Float64Array;
  readonly #clock: Clock;
  readonly #log: ShardLog;
  readonly #relayType: 'udp4' | 'udp6';
  readonly #relayLookup: ReturnType<typeof literalLookup>;
  readonly #relays = new Set<dgram.Socket>();
  readonly #streams = new Set<net.Socket>();
  readonly #timer: NodeJS.Timeout;
  #closed = false;

  constructor(init: ShardInit) {
    const { config, log } = init;
    this.#clock = init.clock;
    this.#log = log;
    const filter = new PeerFilter(config.allowedPeerCidrs, config.deniedPeerCidrs);
    const relayFamily = net.isIPv6(config.relayAddress) ? 6 : 4;
    this.#relayType = relayFamily === 6 ? 'udp6' : 'udp4';
    this.#relayLookup = literalLookup(relayFamily);
    const state = shardState(config, init.memory, init.shard, init.shards);
    const c = state.counters;
    this.counters = c;
    this.core = new TurnCore({
      ...config,
      ...state,
      relayFamily,
      defaultLifetimeSeconds: config.defaultAllocationLifetimeSeconds,
      maxLifetimeSeconds: config.maxAllocationLifetimeSeconds,
      resolveCredentials: createCredentialResolver(config),
      allowPeer: (address) => filter.allows(address),
      observer: {
        allocationCreated(a) {
          c[ALLOCATIONS_CREATED]++;
          log.debug({ allocationId: a.id, userId: a.userId, transport: a.client.transport, relayPort: a.relayPort }, 'allocation created');
        },
        allocationDeleted(a, reason) {
          log.debug({ allocationId: a.id, userId: a.userId, reason }, 'allocation deleted');
        },
        allocationRefused(reason, client) {
          c[REFUSED[reason]]++;
          log.debug({ reason, transport: client.transport }, 'allocation refused');
        },
        authFailure(reason, client) {
          c[AUTH_FAILURES[reason]]++;
          log.debug({ reason, transport: client.transport }, 'authentication failed');
        },
      },
    });
    this.#timer = setInterval(() => {
      try {
        this.#perform(this.core.tick(this.#clock.now()));
      } catch (err) {
        this.guard('tick', err);
      }
    }, TICK_MS);
    this.#timer.unref();
  }

  get relaySockets(): number {
    return this.#relays.size;
  }

  get streams(): number {
    return this.#streams.size;
  }

  guard(where: string, err: unknown): void {
    const n = ++this.counters[HANDLER_ERRORS];
    if (n <= 10 || n % 1000 === 0) this.#log.error({ where, err, handlerErrors: n }, 'turn handler error');
  }

  /** One datagram on a UDP listener: the relay fast path, else the control path. */
  udpMessage(socket: dgram.Socket, msg: Buffer, rinfo: dgram.RemoteInfo): void {
    try {
      if (msg.length < 4) return;
      const key = `${rinfo.address}|${rinfo.port}`;
      const now = this.#clock.now();
      if (this.#relayFromClient(key, msg, now)) return;
      const client: ClientRef = {
        key,
        transport: 'udp',
        address: rinfo.address,
        port: rinfo.port,
        family: rinfo.family === 'IPv6' ? 6 : 4,
        handle: socket,
      };
      this.#perform(this.core.handleMessage(client, msg, now));
    } catch (err) {
      this.guard('udp-message', err);
    }
  }

  /** One STUN message or ChannelData frame from a TCP/TLS connection (tcp-listener.ts frames them). */
  streamFrame(client: ClientRef, frame: Buffer): void {
    const now = this.#clock.now();
    if (!this.#relayFromClient(client.key, frame, now)) this.#perform(this.core.handleMessage(client, frame, now));
  }

  streamOpened(socket: net.Socket): void {
    this.#streams.add(socket);
    this.counters[TCP_CONNECTIONS] = this.#streams.size;
  }

  /** A TCP/TLS connection closed: its allocation goes with it (RFC 8656 §3.1). */
  streamClosed(socket: net.Socket, clientKey: string): void {
    this.#streams.delete(socket);
    this.counters[TCP_CONNECTIONS] = this.#streams.size;
    if (!this.#closed) this.#perform(this.core.clientClosed(clientKey));
  }

  /**
   * Fast path for one message from a client: ChannelData and Send indications are relayed here.
   * Returns false when the message is for the control path (handleMessage).
   */
  #relayFromClient(key: string, buf: Buffer, now: number): boolean {
    const b0 = buf[0];
    let d = null;
    if ((b0 & 0xc0) === 0x40) d = this.core.clientChannelData(key, buf, 0, buf.length, now);
    else if (buf.length >= 20 && buf.readUInt16BE(0) === SEND_INDICATION_TYPE) d = this.core.clientSendIndication(key, buf, now);
    else return (b0 & 0xc0) !== 0; // neither STUN nor ChannelData: drop
    if (d !== null) (d.allocation.relay as dgram.Socket).send(buf, d.offset, d.length, d.port, d.address);
    return true;
  }

  #sendToClient(client: ClientRef, data: Buffer): void {
    if (client.transport === 'udp') {
      (client.handle as dgram.Socket).send(data, client.port, client.address);
      return;
    }
    const socket = client.handle as net.Socket;
    if (socket.destroyed) return;
    if (socket.writableLength >= MAX_TCP_BACKLOG) this.counters[DROPPED]++;
    else socket.write(data);
  }

  #perform(actions: TurnAction[]): void {
    for (const action of actions) {
      switch (action.kind) {
        case 'send':
          this.#sendToClient(action.to, action.data);
          break;
        case 'open-relay':
          this.#openRelay(action.allocation);
          break;
        case 'close-relay':
          this.#closeRelay(action.allocation);
          break;
        case 'relay':
          (action.allocation.relay as dgram.Socket | null)?.send(action.data, action.port, action.address);
          break;
      }
    }
  }

  #openRelay(a: Allocation): void {
    const socket = dgram.createSocket({ type: this.#relayType, lookup: this.#relayLookup as never, recvBufferSize: RELAY_RECV_BUFFER });
    a.relay = socket;
    this.#relays.add(socket);
    this.counters[RELAY_SOCKETS] = this.#relays.size;
    let bound = false;
    socket.on('error', (err) => {
      if (bound) return this.guard('relay-socket', err);
      this.#forget(socket);
      socket.close();
      this.#perform(this.core.relayFailed(a));
    });
    socket.on('message', (msg, rinfo) => {
      try {
        const out = this.core.peerData(a, rinfo.address, rinfo.port, msg, this.#clock.now());
        if (out !== null) this.#sendToClient(a.client, out);
      } catch (err) {
        this.guard('relay-message', err);
      }
    });
    socket.bind({ address: a.relayAddress, port: a.relayPort, exclusive: true }, () => {
      bound = true;
      if (this.#closed) return;
      this.#perform(this.core.relayOpened(a));
    });
  }

  #closeRelay(a: Allocation): void {
    const socket = a.relay as dgram.Socket | null;
    a.relay = null;
    if (!socket || !this.#forget(socket)) return;
    try {
      socket.close();
    } catch {
      // already closed
    }
  }

  #forget(socket: dgram.Socket): boolean {
    const had = this.#relays.delete(socket);
    this.counters[RELAY_SOCKETS] = this.#relays.size;
    return had;
  }

  /** Deletes every allocation and closes its relay socket, TCP/TLS connection and the timer. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    this.#perform(this.core.closeAll());
    for (const s of this.#relays) s.close();
    this.#relays.clear();
    for (const c of this.#streams) c.destroy();
    this.#streams.clear();
    this.counters[RELAY_SOCKETS] = 0;
    this.counters[TCP_CONNECTIONS] = 0;
  }
}
