// What the request handlers share with the core: state, policy and helpers. Internal to turn/.
import type { Allocation, ClientRef } from './allocation.js';
import type { CredentialResolver } from './credentials.js';
import type { NonceIssuer } from './nonce.js';
import type { PortPool } from './port-pool.js';
import type { AllocationQuota } from './allocation-quota.js';
import type { SourceRateLimiter } from './quotas.js';
import type { Responder } from './responses.js';

/** Side effects the adapter performs on the core's behalf (the core itself does no I/O). */
export type TurnAction =
  | { readonly kind: 'send'; readonly to: ClientRef; readonly data: Buffer }
  | { readonly kind: 'open-relay'; readonly allocation: Allocation }
  | { readonly kind: 'close-relay'; readonly allocation: Allocation }
  | {
      readonly kind: 'relay';
      readonly allocation: Allocation;
      readonly address: string;
      readonly port: number;
      readonly data: Buffer;
    };

export type DeleteReason = 'expired' | 'refresh' | 'client-closed' | 'bind-failed' | 'shutdown';
export type RefusalReason = 'user-quota' | 'total-quota' | 'port-exhausted';
export type AuthFailureReason = 'unknown-user' | 'bad-integrity' | 'wrong-credentials';

/** Event callbacks (pion/turn style): metrics and logs hang off these, never per packet. */
export interface TurnObserver {
  allocationCreated?(allocation: Allocation): void;
  allocationDeleted?(allocation: Allocation, reason: DeleteReason): void;
  allocationRefused?(reason: RefusalReason, client: ClientRef): void;
  authFailure?(reason: AuthFailureReason, client: ClientRef, username: string): void;
}

export interface CorePolicy {
  readonly realm: string;
  readonly relayAddress: string;
  /** What XOR-RELAYED-ADDRESS shows when it is not relayAddress (a 1:1 NAT in front of the relays). */
  readonly relayAnnouncedAddress?: string;
  readonly relayFamily: 4 | 6;
  readonly defaultLifetimeSeconds: number;
  readonly maxLifetimeSeconds: number;
  readonly bandwidthBytesPerSecond: number;
  /** Peer IPs one allocation may hold permissions for (RFC 8656 §10.2: 508 past it). */
  readonly maxPermissionsPerAllocation: number;
  /** Channel bindings one allocation may hold, quarantined ones included (RFC 8656 §12.2: 508 past it). */
  readonly maxChannelsPerAllocation: number;
  readonly resolveCredentials: CredentialResolver;
  /** True when relaying to this peer IP is allowed (else 403). */
  readonly allowPeer: (address: string) => boolean;
}

export interface CoreContext {
  readonly policy: CorePolicy;
  readonly responder: Responder;
  readonly nonces: NonceIssuer;
  readonly unauthLimiter: SourceRateLimiter;
  readonly allocations: Map<string, Allocation>;
  readonly quota: AllocationQuota;
  readonly ports: PortPool;
  readonly observer: TurnObserver;
  readonly randomBytes: (n: number) => Buffer;
  nextAllocationId(): number;
  deleteAllocation(allocation: Allocation, reason: DeleteReason): TurnAction[];
}

export function send(to: ClientRef, data: Buffer): TurnAction {
  return { kind: 'send', to, data };
}
