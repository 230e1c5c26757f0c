// Refresh (RFC 8656 §8.2 "Receiving a Refresh Request"), CreatePermission (§10.2) and
// ChannelBind (§12.2). Each runs after authentication and needs the 5-tuple's allocation (437).
import type { Allocation, ClientRef } from './allocation.js';
import { grantedLifetime } from './allocation.js';
import { send, type CoreContext, type TurnAction } from './context.js';
import { Permission } from './permission.js';
import { finish } from './responses.js';
import { decodeAddressFamily, decodeChannelNumber, decodeUint32, decodeXorAddress, encodeUint32, type TransportAddress } from './stun/attributes.js';
import { Attr, ErrorCode } from './stun/constants.js';
import { findAttribute, findAttributes, type StunMessage } from './stun/message.js';

type Handler = (ctx: CoreContext, client: ClientRef, msg: StunMessage, a: Allocation, now: number) => TurnAction[];

const errorReply = (ctx: CoreContext, client: ClientRef, msg: StunMessage, a: Allocation, code: number): TurnAction[] => [
  send(client, finish(ctx.responder.error(msg, code), a.key)),
];

/** RFC 8656 §8: lifetime 0 deletes; otherwise the allocation is extended by the granted lifetime. */
export const handleRefresh: Handler = (ctx, client, msg, a, now) => {
  const familyAttr = findAttribute(msg, Attr.RequestedAddressFamily);
  if (familyAttr) {
    const family = decodeAddressFamily(msg, familyAttr);
    if (family === null) return errorReply(ctx, client, msg, a, ErrorCode.BadRequest);
    if (family !== a.family) return errorReply(ctx, client, msg, a, ErrorCode.PeerAddressFamilyMismatch);
  }
  const lifetimeAttr = findAttribute(msg, Attr.Lifetime);
  const requested = lifetimeAttr ? decodeUint32(msg, lifetimeAttr) : undefined;
  if (requested === null) return errorReply(ctx, client, msg, a, ErrorCode.BadRequest);
  const lifetime =
    requested === 0 ? 0 : grantedLifetime(requested, ctx.policy.defaultLifetimeSeconds, ctx.policy.maxLifetimeSeconds);
  const actions: TurnAction[] = [];
  if (lifetime === 0) actions.push(...ctx.deleteAllocation(a, 'refresh'));
  else a.expiresAt = now + lifetime * 1000;
  actions.push(send(client, finish(ctx.responder.success(msg).add(Attr.Lifetime, encodeUint32(lifetime)), a.key)));
  return actions;
};

/**
 * Checks one XOR-PEER-ADDRESS for CreatePermission/ChannelBind: malformed -> 400, family other than
 * the relay's -> 443 (RFC 8656 §10.2, §12.2), refused by the peer filter -> 403.
 */
function checkPeer(ctx: CoreContext, a: Allocation, peer: TransportAddress | null): number {
  if (!peer) return ErrorCode.BadRequest;
  if (peer.family !== a.family) return ErrorCode.PeerAddressFamilyMismatch;
  if (!ctx.policy.allowPeer(peer.address)) return ErrorCode.Forbidden;
  return 0;
}

/** Installs or refreshes the permission for a peer IP (RFC 8656 §9). */
export function installPermission(a: Allocation, address: string, now: number): Permission {
  let p = a.permissions.get(address);
  if (p) p.refresh(now);
  else {
    p = new Permission(address, now);
    a.permissions.set(address, p);
  }
  return p;
}

/** RFC 8656 §10.2: all XOR-PEER-ADDRESS values must be acceptable, or no permission is installed. */
export const handleCreatePermission: Handler = (ctx, client, msg, a, now) => {
  const attrs = findAttributes(msg, Attr.XorPeerAddress);
  if (attrs.length === 0) return errorReply(ctx, client, msg, a, ErrorCode.BadRequest);
  const peers: TransportAddress[] = [];
  for (const attr of attrs) {
    const peer = decodeXorAddress(msg, attr);
    const code = checkPeer(ctx, a, peer);
    if (code) return errorReply(ctx, client, msg, a, code);
    peers.push(peer!);
  }
  for (const peer of peers) installPermission(a, peer.address, now);
  return [send(client, finish(ctx.responder.success(msg), a.key))];
};

/** RFC 8656 §12.2: bind (or refresh) a channel and install/refresh the peer's permission. */
export const handleChannelBind: Handler = (ctx, client, msg, a, now) => {
  const channelAttr = findAttribute(msg, Attr.ChannelNumber);
  const peerAttr = findAttribute(msg, Attr.XorPeerAddress);
  const channel = channelAttr ? decodeChannelNumber(msg, channelAttr) : null;
  if (channel === null || !peerAttr) return errorReply(ctx, client, msg, a, ErrorCode.BadRequest);
  const peer = decodeXorAddress(msg, peerAttr);
  const code = checkPeer(ctx, a, peer);
  if (code) return errorReply(ctx, client, msg, a, code);
  const result = a.channels.bind(channel, peer!.address, peer!.port, now);
  if (!result.ok) return errorReply(ctx, client, msg, a, ErrorCode.BadRequest);
  const permission = installPermission(a, peer!.address, now);
  permission.channelsByPort.set(peer!.port, result.binding);
  return [send(client, finish(ctx.responder.success(msg), a.key))];
};
