// An allocation (RFC 8656 §2.2, §7): the relayed transport address a client got on a 5-tuple,
// with its lifetime, permissions (§9) and channel bindings (§12).
import { ChannelTable } from './channel.js';
import type { Permission } from './permission.js';
import type { TokenBucket } from './quotas.js';

export type ClientTransport = 'udp' | 'tcp' | 'tls';

/** The client side of a 5-tuple, as the adapter identifies it. */
export interface ClientRef {
  /** Unique per 5-tuple: for UDP the remote address and port, for TCP/TLS the connection. */
  readonly key: string;
  readonly transport: ClientTransport;
  readonly address: string;
  readonly port: number;
  readonly family: 4 | 6;
  /** Adapter-owned (its socket); the core never touches it. */
  readonly handle: unknown;
}

export type AllocationState = 'pending' | 'active' | 'closed';

/** What the Allocate request asked for, kept until the relay socket is bound. */
export interface AllocateContext {
  readonly transactionId: Buffer;
  readonly lifetimeSeconds: number;
  /** RESERVATION-TOKEN to return (EVEN-PORT with R=1). */
  readonly reservationToken: Buffer | null;
  /** ADDRESS-ERROR-CODE to include (ADDITIONAL-ADDRESS-FAMILY we could not serve). */
  readonly addressError: number | null;
  /** Port came from a reservation; a bind failure then cannot try another port. */
  readonly fromReservation: boolean;
  /** EVEN-PORT was requested (a retry after a failed bind must stay even). */
  readonly even: boolean;
  bindAttempts: number;
}

export class Allocation {
  readonly id: number;
  readonly client: ClientRef;
  readonly username: string;
  readonly userId: string;
  /** Long-term key the allocation was created with (RFC 8656 §5: later requests must match). */
  readonly key: Buffer;
  readonly family: 4 | 6;
  readonly relayAddress: string;
  relayPort: number;
  expiresAt: number;
  state: AllocationState = 'pending';
  readonly context: AllocateContext;
  /** The success response, kept to answer a retransmitted Allocate (RFC 8656 §7.2). */
  successResponse: Buffer | null = null;
  readonly permissions = new Map<string, Permission>();
  readonly channels = new ChannelTable();
  /** Per-allocation bandwidth limit, or null when unlimited. */
  readonly bucket: TokenBucket | null;
  /** The adapter's relay socket (opaque to the core). */
  relay: unknown = null;
  packetsToPeer = 0;
  packetsToClient = 0;

  constructor(init: {
    id: number;
    client: ClientRef;
    username: string;
    userId: string;
    key: Buffer;
    family: 4 | 6;
    relayAddress: string;
    relayPort: number;
    expiresAt: number;
    context: AllocateContext;
    bucket: TokenBucket | null;
  }) {
    this.id = init.id;
    this.client = init.client;
    this.username = init.username;
    this.userId = init.userId;
    this.key = init.key;
    this.family = init.family;
    this.relayAddress = init.relayAddress;
    this.relayPort = init.relayPort;
    this.expiresAt = init.expiresAt;
    this.context = init.context;
    this.bucket = init.bucket;
  }
}

/**
 * RFC 8656 §7.2 / §8: the lifetime granted is min(requested, max), but never below the default;
 * without a LIFETIME attribute it is the default.
 */
export function grantedLifetime(requested: number | undefined, defaultSeconds: number, maxSeconds: number): number {
  if (requested === undefined) return defaultSeconds;
  return Math.max(defaultSeconds, Math.min(requested, maxSeconds));
}
