// The TURN/STUN protocol core (RFC 8489, RFC 8656) without I/O: messages in, actions out, the
// clock passed in. The adapter (server.ts) owns sockets and timers and performs the actions.
//
// Two paths:
//  - control: handleMessage() parses a STUN message and returns TurnAction[];
//  - relay (hot): clientChannelData(), clientSendIndication() and peerData() decide what to do with
//    one data packet without parsing a full message or allocating actions (CONVENTIONS: "Decide,
//    then send"; "The hot path allocates little").
import { randomBytes as cryptoRandomBytes } from 'node:crypto';
import { handleAllocate, relayFailed, relayOpened } from './allocate.js';
import type { Allocation, ClientRef } from './allocation.js';
import { authenticate } from './auth.js';
import { send, type CoreContext, type DeleteReason, type TurnAction } from './context.js';
import type { RelayDecision, TrafficCounts, TurnCoreOptions } from './core-types.js';
import { NonceIssuer } from './nonce.js';
import { AllocationQuota } from './allocation-quota.js';
import { PortPool } from './port-pool.js';
import { SourceRateLimiter } from './quotas.js';
import { finish, Responder } from './responses.js';
import { handleChannelBind, handleCreatePermission, handleRefresh } from './requests.js';
import { decodeXorAddress, encodeXorAddress } from './stun/attributes.js';
import { Attr, ErrorCode, KNOWN_REQUIRED_ATTRIBUTES, Method, StunClass } from './stun/constants.js';
import { fingerprintValid } from './stun/integrity.js';
import { decodeStunMessage, type StunMessage } from './stun/message.js';
import { encodeChannelData, encodeDataIndication, scanSendIndication, type SendFields } from './stun/relay-codec.js';
import { ALLOCATIONS, BYTES_TO_CLIENT, BYTES_TO_PEER, DROPPED, PACKETS_TO_CLIENT, PACKETS_TO_PEER, ROW } from './shard-counters.js';

export type { TurnAction, TurnObserver, DeleteReason } from './context.js';
export type { RelayDecision, TrafficCounts, TurnCoreOptions } from './core-types.js';

export class TurnCore {
  readonly #ctx: CoreContext;
  readonly #decision: RelayDecision = { allocation: null as unknown as Allocation, address: '', port: 0, offset: 0, length: 0 };
  readonly #send: SendFields = { peerOffset: 0, peerLength: 0, dataOffset: 0, dataLength: 0, unknownRequired: false };
  #nextId: number;
  readonly #idStride: number;
  /** Relayed traffic and the allocation gauge (shard-counters.ts), read on scrape, never a metric call per packet. */
  readonly #c: Float64Array;

  constructor(options: TurnCoreOptions) {
    const allocations = new Map<string, Allocation>();
    const quota = options.quota ?? new AllocationQuota(options.maxAllocationsPerUser, options.maxAllocationsTotal);
    const ports = options.ports ?? new PortPool(options.relayPortRange[0], options.relayPortRange[1], options.random);
    this.#c = options.counters ?? new Float64Array(ROW);
    this.#nextId = options.allocationIds?.first ?? 1;
    this.#idStride = options.allocationIds?.stride ?? 1;
    const observer = options.observer ?? {};
    this.#ctx = {
      policy: options,
      responder: new Responder(options.software),
      nonces: new NonceIssuer(options.nonceLifetimeSeconds, options.nonceKey),
      unauthLimiter: new SourceRateLimiter(options.unauthenticatedRateLimit.perSecond, options.unauthenticatedRateLimit.burst),
      allocations,
      quota,
      ports,
      observer,
      randomBytes: options.randomBytes ?? cryptoRandomBytes,
      nextAllocationId: () => {
        const id = this.#nextId;
        this.#nextId += this.#idStride;
        return id;
      },
      deleteAllocation: (a, reason) => this.#delete(a, reason),
    };
  }

  get allocationCount(): number {
    return this.#ctx.allocations.size;
  }

  get portsInUse(): number {
    return this.#ctx.ports.inUse;
  }

  get traffic(): TrafficCounts {
    const c = this.#c;
    return { packetsToPeer: c[PACKETS_TO_PEER], bytesToPeer: c[BYTES_TO_PEER], packetsToClient: c[PACKETS_TO_CLIENT], bytesToClient: c[BYTES_TO_CLIENT], dropped: c[DROPPED] };
  }

  allocationOf(clientKey: string): Allocation | undefined {
    return this.#ctx.allocations.get(clientKey);
  }

  /** Control path: one STUN message from a client. Never throws on bad input. */
  handleMessage(client: ClientRef, buf: Buffer, now: number): TurnAction[] {
    const msg = decodeStunMessage(buf);
    if (!msg || !fingerprintValid(msg)) return [];
    if (msg.cls === StunClass.Indication) {
      if (msg.method !== Method.Send) return [];
      const d = this.clientSendIndication(client.key, buf, now);
      if (!d) return [];
      const data = Buffer.from(buf.subarray(d.offset, d.offset + d.length));
      return [{ kind: 'relay', allocation: d.allocation, address: d.address, port: d.port, data }];
    }
    if (msg.cls !== StunClass.Request) return [];
    if (msg.method === Method.Binding) return this.#binding(client, msg, now);
    if (msg.method !== Method.Allocate && msg.method !== Method.Refresh && msg.method !== Method.CreatePermission && msg.method !== Method.ChannelBind) {
      // RFC 8489 §6.3.1: a request for an unknown method is answered with 400.
      return this.#ctx.unauthLimiter.allow(client.address, now) ? [send(client, finish(this.#ctx.responder.error(msg, ErrorCode.BadRequest), null))] : [];
    }
    const auth = authenticate(this.#ctx, client, msg, now);
    if (!auth.ok) return auth.reply ? [send(client, auth.reply)] : [];
    const key = auth.user.key;
    const unknown = unknownRequired(msg);
    if (unknown.length > 0) return [send(client, finish(this.#ctx.responder.unknownAttributes(msg, unknown), key))];
    const allocation = this.#ctx.allocations.get(client.key);
    // RFC 8656 §5: requests on an allocation's 5-tuple must use the credentials that created it.
    if (allocation && allocation.username !== auth.username) {
      this.#ctx.observer.authFailure?.('wrong-credentials', client, auth.username);
      return [send(client, finish(this.#ctx.responder.error(msg, ErrorCode.WrongCredentials), key))];
    }
    if (msg.method === Method.Allocate) {
      const actions = handleAllocate(this.#ctx, client, msg, auth.username, auth.user, now);
      this.#c[ALLOCATIONS] = this.#ctx.allocations.size;
      return actions;
    }
    if (!allocation || allocation.state !== 'active') {
      return [send(client, finish(this.#ctx.responder.error(msg, ErrorCode.AllocationMismatch), key))];
    }
    if (msg.method === Method.Refresh) return handleRefresh(this.#ctx, client, msg, allocation, now);
    if (msg.method === Method.CreatePermission) return handleCreatePermission(this.#ctx, client, msg, allocation, now);
    return handleChannelBind(this.#ctx, client, msg, allocation, now);
  }

  /** RFC 8489 §6.3.1 Binding: XOR-MAPPED-ADDRESS of the request's source. */
  #binding(client: ClientRef, msg: StunMessage, now: number): TurnAction[] {
    if (!this.#ctx.unauthLimiter.allow(client.address, now)) return [];
    const unknown = unknownRequired(msg);
    if (unknown.length > 0) return [send(client, finish(this.#ctx.responder.unknownAttributes(msg, unknown), null))];
    const b = this.#ctx.responder.success(msg);
    b.add(Attr.XorMappedAddress, encodeXorAddress(client, msg.transactionId));
    return [send(client, finish(b, null))];
  }

  /** The adapter bound the relay socket for a pending allocation. */
  relayOpened(allocation: Allocation): TurnAction[] {
    return relayOpened(this.#ctx, allocation);
  }

  /** The adapter could not bind the relay port (e.g. EADDRINUSE). */
  relayFailed(allocation: Allocation): TurnAction[] {
    return relayFailed(this.#ctx, allocation);
  }

  /**
   * Hot path, client -> peer ChannelData (RFC 8656 §12.6). `buf[start, end)` is one ChannelData
   * message. Returns where to send its data, or null to drop it.
   */
  clientChannelData(clientKey: string, buf: Buffer, start: number, end: number, now: number): RelayDecision | null {
    const a = this.#ctx.allocations.get(clientKey);
    if (a === undefined || end - start < 4) return this.#drop();
    const length = buf.readUInt16BE(start + 2);
    if (start + 4 + length > end) return this.#drop();
    const binding = a.channels.get(buf.readUInt16BE(start));
    if (binding === undefined || binding.expiresAt <= now) return this.#drop();
    const permission = a.permissions.get(binding.peerAddress);
    if (permission === undefined || permission.expiresAt <= now) return this.#drop();
    return this.#toPeer(a, binding.peerAddress, binding.peerPort, start + 4, length, now);
  }

  /** Hot path, Send indication (RFC 8656 §11.2): relayed only with a permission; else dropped. */
  clientSendIndication(clientKey: string, buf: Buffer, now: number): RelayDecision | null {
    const a = this.#ctx.allocations.get(clientKey);
    const f = this.#send;
    if (a === undefined || a.state !== 'active' || !scanSendIndication(buf, buf.length, f)) return this.#drop();
    if (f.unknownRequired || f.peerOffset < 0 || f.dataOffset < 0) return this.#drop();
    const peer = decodeXorAddress({ buf } as StunMessage, { type: Attr.XorPeerAddress, offset: f.peerOffset, length: f.peerLength });
    if (peer === null || peer.family !== a.family) return this.#drop();
    const permission = a.permissions.get(peer.address);
    if (permission === undefined || permission.expiresAt <= now) return this.#drop();
    return this.#toPeer(a, peer.address, peer.port, f.dataOffset, f.dataLength, now);
  }

  #toPeer(a: Allocation, address: string, port: number, offset: number, length: number, now: number): RelayDecision | null {
    if (a.bucket !== null && !a.bucket.take(length, now)) return this.#drop();
    a.packetsToPeer++;
    this.#c[PACKETS_TO_PEER]++;
    this.#c[BYTES_TO_PEER] += length;
    const d = this.#decision;
    d.allocation = a;
    d.address = address;
    d.port = port;
    d.offset = offset;
    d.length = length;
    return d;
  }

  /**
   * Hot path, peer -> client (RFC 8656 §11.3, §12.7): a datagram arrived on the allocation's relay
   * socket. Returns the ChannelData or Data indication to send to the client, or null to drop.
   */
  peerData(a: Allocation, address: string, port: number, data: Buffer, now: number): Buffer | null {
    const permission = a.permissions.get(address);
    if (permission === undefined || permission.expiresAt <= now || a.state !== 'active') return this.#drop();
    if (a.bucket !== null && !a.bucket.take(data.length, now)) return this.#drop();
    a.packetsToClient++;
    this.#c[PACKETS_TO_CLIENT]++;
    this.#c[BYTES_TO_CLIENT] += data.length;
    const binding = permission.channelsByPort.get(port);
    if (binding !== undefined && binding.expiresAt > now) {
      return encodeChannelData(binding.number, data, 0, data.length, a.client.transport !== 'udp');
    }
    return encodeDataIndication(permission.peerBytes, port, data, 0, data.length);
  }

  #drop(): null {
    this.#c[DROPPED]++;
    return null;
  }

  /** A TCP/TLS client connection closed: its allocation goes with it (RFC 8656 §3.1). */
  clientClosed(clientKey: string): TurnAction[] {
    const a = this.#ctx.allocations.get(clientKey);
    return a ? this.#delete(a, 'client-closed') : [];
  }

  /** Timers (RFC 8656 §7, §9, §12): expire allocations, permissions, channels, reservations. */
  tick(now: number): TurnAction[] {
    const actions: TurnAction[] = [];
    for (const a of this.#ctx.allocations.values()) {
      if (a.expiresAt <= now) {
        actions.push(...this.#delete(a, 'expired'));
        continue;
      }
      for (const gone of a.channels.sweep(now)) {
        const p = a.permissions.get(gone.peerAddress);
        if (p && p.channelsByPort.get(gone.peerPort) === gone) p.channelsByPort.delete(gone.peerPort);
      }
      for (const [address, p] of a.permissions) if (p.expiresAt <= now && p.channelsByPort.size === 0) a.permissions.delete(address);
    }
    this.#ctx.ports.sweep(now);
    this.#ctx.unauthLimiter.sweep(now);
    return actions;
  }

  /** Deletes every allocation (server shutdown). */
  closeAll(): TurnAction[] {
    const actions: TurnAction[] = [];
    for (const a of [...this.#ctx.allocations.values()]) actions.push(...this.#delete(a, 'shutdown'));
    this.#ctx.ports.clear();
    this.#ctx.unauthLimiter.clear();
    return actions;
  }

  #delete(a: Allocation, reason: DeleteReason): TurnAction[] {
    if (a.state === 'closed') return [];
    const wasActive = a.state === 'active';
    a.state = 'closed';
    this.#ctx.allocations.delete(a.client.key);
    this.#c[ALLOCATIONS] = this.#ctx.allocations.size;
    this.#ctx.quota.remove(a.userId);
    if (a.relayPort >= 0) this.#ctx.ports.release(a.relayPort);
    a.permissions.clear();
    a.channels.clear();
    if (wasActive) this.#ctx.observer.allocationDeleted?.(a, reason);
    return reason === 'bind-failed' ? [] : [{ kind: 'close-relay', allocation: a }];
  }
}

/** Comprehension-required attribute types the server does not understand (RFC 8489 §6.3.1.1). */
function unknownRequired(msg: StunMessage): number[] {
  const out: number[] = [];
  for (const a of msg.attributes) {
    if (a.type < 0x8000 && !KNOWN_REQUIRED_ATTRIBUTES.has(a.type) && !out.includes(a.type)) out.push(a.type);
  }
  return out;
}
