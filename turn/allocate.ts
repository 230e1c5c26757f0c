// Allocate (RFC 8656 §7.2 "Receiving an Allocate Request") and the completion of the relay bind.
import { Allocation, grantedLifetime, type ClientRef } from './allocation.js';
import type { ResolvedUser } from './credentials.js';
import { send, type CoreContext, type TurnAction } from './context.js';
import { TokenBucket } from './quotas.js';
import { finish } from './responses.js';
import {
  decodeAddressFamily,
  decodeEvenPort,
  decodeRequestedTransport,
  decodeUint32,
  encodeErrorCode,
  encodeUint32,
  encodeXorAddress,
} from './stun/attributes.js';
import { Attr, ERROR_REASONS, ErrorCode, TRANSPORT_UDP } from './stun/constants.js';
import { findAttribute, type StunMessage } from './stun/message.js';

/** How many relay ports to try when binding fails (another process holds the port). */
const MAX_BIND_ATTEMPTS = 5;

export function handleAllocate(
  ctx: CoreContext,
  client: ClientRef,
  msg: StunMessage,
  username: string,
  user: ResolvedUser,
  now: number,
): TurnAction[] {
  const reply = (code: number): TurnAction[] => [send(client, finish(ctx.responder.error(msg, code), user.key))];
  const existing = ctx.allocations.get(client.key);
  if (existing) {
    // A retransmission of the request that created it gets the same answer (RFC 8656 §7.2).
    if (existing.context.transactionId.equals(msg.transactionId)) {
      return existing.successResponse ? [send(client, existing.successResponse)] : [];
    }
    return reply(ErrorCode.AllocationMismatch);
  }
  const transportAttr = findAttribute(msg, Attr.RequestedTransport);
  const transport = transportAttr ? decodeRequestedTransport(msg, transportAttr) : null;
  if (transport === null) return reply(ErrorCode.BadRequest);
  if (transport !== TRANSPORT_UDP) return reply(ErrorCode.UnsupportedTransportProtocol);
  // DONT-FRAGMENT (§7.2) is accepted: see docs/TURN.md on how Linux sets DF on relayed datagrams.

  const evenAttr = findAttribute(msg, Attr.EvenPort);
  const even = evenAttr ? decodeEvenPort(msg, evenAttr) : null;
  const tokenAttr = findAttribute(msg, Attr.ReservationToken);
  const familyAttr = findAttribute(msg, Attr.RequestedAddressFamily);
  const additionalAttr = findAttribute(msg, Attr.AdditionalAddressFamily);
  const lifetimeAttr = findAttribute(msg, Attr.Lifetime);
  if ((evenAttr && !even) || (tokenAttr && tokenAttr.length !== 8)) return reply(ErrorCode.BadRequest);
  if (tokenAttr && (evenAttr || familyAttr || additionalAttr)) return reply(ErrorCode.BadRequest);
  if (familyAttr && additionalAttr) return reply(ErrorCode.BadRequest);
  const requested = familyAttr ? decodeAddressFamily(msg, familyAttr) : 4;
  if (requested === null) return reply(ErrorCode.AddressFamilyNotSupported);
  const additional = additionalAttr ? decodeAddressFamily(msg, additionalAttr) : null;
  if (additionalAttr && additional !== 6) return reply(ErrorCode.BadRequest);
  // Only one relay address is configured: its family is the only one served (RFC 8656 §7.2, 440).
  if (requested !== ctx.policy.relayFamily) return reply(ErrorCode.AddressFamilyNotSupported);
  const addressError = additional === 6 && ctx.policy.relayFamily !== 6 ? ErrorCode.AddressFamilyNotSupported : null;
  const requestedLifetime = lifetimeAttr ? decodeUint32(msg, lifetimeAttr) : undefined;
  if (requestedLifetime === null) return reply(ErrorCode.BadRequest);

  const refusal = ctx.quota.tryAdd(user.userId);
  if (refusal) {
    ctx.observer.allocationRefused?.(refusal, client);
    return reply(ErrorCode.AllocationQuotaReached);
  }
  let port: number;
  let reservationToken: Buffer | null = null;
  if (tokenAttr) {
    port = ctx.ports.claim(msg.buf.subarray(tokenAttr.offset, tokenAttr.offset + 8), now);
  } else {
    port = ctx.ports.acquire(even !== null, even?.reserve ?? false);
    if (port >= 0 && even?.reserve) reservationToken = ctx.ports.reserve(port + 1, ctx.randomBytes(8), now);
  }
  if (port < 0) {
    ctx.quota.remove(user.userId);
    ctx.observer.allocationRefused?.('port-exhausted', client);
    return reply(ErrorCode.InsufficientCapacity);
  }
  const lifetimeSeconds = grantedLifetime(requestedLifetime, ctx.policy.defaultLifetimeSeconds, ctx.policy.maxLifetimeSeconds);
  const rate = ctx.policy.bandwidthBytesPerSecond;
  const allocation = new Allocation({
    id: ctx.nextAllocationId(),
    client,
    username,
    userId: user.userId,
    key: user.key,
    family: requested,
    relayAddress: ctx.policy.relayAddress,
    relayPort: port,
    expiresAt: now + lifetimeSeconds * 1000,
    context: {
      transactionId: Buffer.from(msg.transactionId),
      lifetimeSeconds,
      reservationToken,
      addressError,
      fromReservation: tokenAttr !== undefined,
      even: even !== null,
      bindAttempts: 1,
    },
    bucket: rate > 0 ? new TokenBucket(rate, rate, now) : null,
  });
  ctx.allocations.set(client.key, allocation);
  return [{ kind: 'open-relay', allocation }];
}

/** The adapter bound the relay socket: answer the Allocate (RFC 8656 §7.2 success response). */
export function relayOpened(ctx: CoreContext, allocation: Allocation): TurnAction[] {
  if (allocation.state === 'closed') return [{ kind: 'close-relay', allocation }];
  allocation.state = 'active';
  const c = allocation.context;
  const client = allocation.client;
  const tid = c.transactionId;
  const b = ctx.responder.success(fakeRequest(allocation));
  const advertised = ctx.policy.relayAnnouncedAddress ?? allocation.relayAddress;
  b.add(Attr.XorRelayedAddress, encodeXorAddress({ family: allocation.family, address: advertised, port: allocation.relayPort }, tid));
  b.add(Attr.Lifetime, encodeUint32(c.lifetimeSeconds));
  if (c.reservationToken) b.add(Attr.ReservationToken, c.reservationToken);
  if (c.addressError !== null) b.add(Attr.AddressErrorCode, addressErrorValue(c.addressError));
  b.add(Attr.XorMappedAddress, encodeXorAddress({ family: client.family, address: client.address, port: client.port }, tid));
  allocation.successResponse = finish(b, allocation.key);
  ctx.observer.allocationCreated?.(allocation);
  return [send(client, allocation.successResponse)];
}

/** The relay port could not be bound: try another port, or give up with 508. */
export function relayFailed(ctx: CoreContext, allocation: Allocation): TurnAction[] {
  if (allocation.state === 'closed') return [];
  const c = allocation.context;
  ctx.ports.release(allocation.relayPort);
  // A reserved port, or one whose neighbour is reserved (R=1), cannot be swapped for another.
  if (!c.fromReservation && !c.reservationToken && c.bindAttempts < MAX_BIND_ATTEMPTS) {
    const port = ctx.ports.acquire(c.even, false);
    if (port >= 0) {
      c.bindAttempts++;
      allocation.relayPort = port;
      return [{ kind: 'open-relay', allocation }];
    }
  }
  allocation.relayPort = -1;
  const actions = ctx.deleteAllocation(allocation, 'bind-failed');
  ctx.observer.allocationRefused?.('port-exhausted', allocation.client);
  const b = ctx.responder.error(fakeRequest(allocation), ErrorCode.InsufficientCapacity);
  actions.push(send(allocation.client, finish(b, allocation.key)));
  return actions;
}

/** ADDRESS-ERROR-CODE (RFC 8656 §18.12): family, reserved, class, number, reason. */
function addressErrorValue(code: number): Buffer {
  const v = encodeErrorCode(code, ERROR_REASONS[code] ?? '');
  v[0] = 0x02; // the family that failed: IPv6
  return v;
}

/** Just enough of the Allocate request to build its response later (method + transaction ID). */
function fakeRequest(allocation: Allocation): StunMessage {
  return {
    buf: Buffer.alloc(0),
    type: 0x0003,
    method: 0x003,
    cls: 0,
    transactionId: allocation.context.transactionId,
    attributes: [],
    integrityOffset: -1,
    fingerprintOffset: -1,
  };
}
