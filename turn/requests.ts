// Refresh (RFC 8656 §8.2 "Receiving a Refresh Request"), CreatePermission (§10.2) and
// ChannelBind (§12.2). Each runs after authentication and needs the 5-tuple's allocation (437).
// Permissions and channels per allocation are capped (maxPermissionsPerAllocation,
// maxChannelsPerAllocation): a request that would pass a cap installs nothing and gets 508
// (Insufficient Capacity), which §10.2 and §12.2 name for "some capacity limit or similar".
import type { Allocation, ClientRef } from './allocation.js';
import { grantedLifetime } from './allocation.js';
import { send, type CoreContext, type TurnAction } from './context.js';
import { Permission } from './permission.js';
import { finish } from './responses.js';
import { decodeAddressFamily, decodeChannelNumber, decodeUint32, decodeXorAddress, encodeUint32, type TransportAddress } from './stun/attributes.js';
import { Attr, ErrorCode } from './stun/constants.js';
import { findAttribute, findAttributes, type StunMessage } from './stun/message.js';

type Handler = (ctx: CoreContext, client: ClientRef, msg: StunMessage, a: Allocation, now: number) => TurnAction[];

const errorReply = (ctx: CoreContext, client: ClientRef, msg: StunMessage, a: Allocation, code: number, reason?: string): TurnAction[] => [
  send(client, finish(ctx.responder.error(msg, code, reason), a.key)),
];

const capacityReply = (ctx: CoreContext, client: ClientRef, msg: StunMessage, a: Allocation, detail: string): TurnAction[] =>
  errorReply(ctx, client, msg, a, ErrorCode.InsufficientCapacity, `Insufficient Capacity: ${detail}`);

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

/**
 * True when `added` more peer IPs fit under the permission cap. Expired permissions that no
 * channel holds (tick() sweeps them each second) are swept here first, so they never count.
 */
function permissionsFit(ctx: CoreContext, a: Allocation, added: number, now: number): boolean {
  const max = ctx.policy.maxPermissionsPerAllocation;
  if (a.permissions.size + added <= max) return true;
  for (const [address, p] of a.permissions) if (p.expiresAt <= now && p.channelsByPort.size === 0) a.permissions.delete(address);
  return a.permissions.size + added <= max;
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
  const added = new Set(peers.map((p) => p.address).filter((address) => !a.permissions.has(address))).size;
  if (added > 0 && !permissionsFit(ctx, a, added, now)) {
    return capacityReply(ctx, client, msg, a, `at most ${ctx.policy.maxPermissionsPerAllocation} permissions per allocation`);
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
  if (!a.permissions.has(peer!.address) && !permissionsFit(ctx, a, 1, now)) {
    return capacityReply(ctx, client, msg, a, `at most ${ctx.policy.maxPermissionsPerAllocation} permissions per allocation`);
  }
  const result = a.channels.bind(channel, peer!.address, peer!.port, now, ctx.policy.maxChannelsPerAllocation);
  if (!result.ok) {
    return result.reason === 'capacity'
      ? capacityReply(ctx, client, msg, a, result.detail)
      : errorReply(ctx, client, msg, a, ErrorCode.BadRequest, `Bad Request: ${result.detail}`);
  }
  const permission = installPermission(a, peer!.address, now);
  permission.channelsByPort.set(peer!.port, result.binding);
  return [send(client, finish(ctx.responder.success(msg), a.key))];
};
