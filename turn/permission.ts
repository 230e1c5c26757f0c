// Permissions (RFC 8656 §9): a permission is keyed by the peer's IP address only (no port), lasts
// 300 seconds, is refreshed by CreatePermission or ChannelBind, and cannot be deleted explicitly.
import type { ChannelBinding } from './channel.js';
import { parseIp } from './ip.js';

/** RFC 8656 §9: "Permission Lifetime" is 300 seconds. */
export const PERMISSION_LIFETIME_MS = 300_000;

export class Permission {
  readonly peerAddress: string;
  /** The address bytes, parsed once, for building Data indications without re-parsing. */
  readonly peerBytes: Uint8Array;
  expiresAt: number;
  /** Channel bindings to this IP, by peer port (RFC 8656 §12), for the peer -> client fast path. */
  readonly channelsByPort = new Map<number, ChannelBinding>();

  constructor(peerAddress: string, now: number) {
    this.peerAddress = peerAddress;
    this.peerBytes = parseIp(peerAddress) ?? new Uint8Array(4);
    this.expiresAt = now + PERMISSION_LIFETIME_MS;
  }

  refresh(now: number): void {
    this.expiresAt = now + PERMISSION_LIFETIME_MS;
  }

  isActive(now: number): boolean {
    return this.expiresAt > now;
  }
}
