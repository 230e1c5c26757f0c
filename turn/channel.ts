// Channel bindings (RFC 8656 §12). A binding ties a channel number (0x4000-0x7FFF, the RFC 5766
// range that coturn's clients still use) to one peer transport address (IP and port) for 10 minutes
// unless refreshed by another ChannelBind.
//
// Rebinding rules, RFC 8656 §12.2 (server receiving ChannelBind), answered with 400 when broken:
//  - the channel number is already bound to a different transport address;
//  - the transport address is already bound to a different channel number.
// RFC 8656 §12: after a binding expires, neither its number nor its address may be rebound to
// something else for 5 minutes; rebinding the same pair inside that window revives it.
// A table holds at most `maxBindings` (config `maxChannelsPerAllocation`), quarantined ones
// included; a new binding past that is refused with 508 (RFC 8656 §12.2, "capacity limit").
import { CHANNEL_MAX, CHANNEL_MIN } from './stun/constants.js';

export const CHANNEL_LIFETIME_MS = 600_000;
export const CHANNEL_QUARANTINE_MS = 300_000;

export class ChannelBinding {
  readonly number: number;
  readonly peerAddress: string;
  readonly peerPort: number;
  expiresAt: number;

  constructor(number: number, peerAddress: string, peerPort: number, now: number) {
    this.number = number;
    this.peerAddress = peerAddress;
    this.peerPort = peerPort;
    this.expiresAt = now + CHANNEL_LIFETIME_MS;
  }

  isActive(now: number): boolean {
    return this.expiresAt > now;
  }
}

export type BindResult =
  | { readonly ok: true; readonly binding: ChannelBinding; readonly created: boolean }
  | { readonly ok: false; readonly reason: 'invalid' | 'capacity'; readonly detail: string };

export function isValidChannelNumber(n: number): boolean {
  return n >= CHANNEL_MIN && n <= CHANNEL_MAX;
}

/** The channel table of one allocation: lookup by number and by peer transport address. */
export class ChannelTable {
  readonly #byNumber = new Map<number, ChannelBinding>();
  readonly #byPeer = new Map<string, ChannelBinding>();

  get size(): number {
    return this.#byNumber.size;
  }

  /** Active or quarantined binding for a channel number (fast path checks `isActive`). */
  get(number: number): ChannelBinding | undefined {
    return this.#byNumber.get(number);
  }

  /** Applies RFC 8656 §12.2 rules; installs or refreshes the binding, at most `maxBindings` of them. */
  bind(number: number, peerAddress: string, peerPort: number, now: number, maxBindings = Infinity): BindResult {
    if (!isValidChannelNumber(number)) return { ok: false, reason: 'invalid', detail: 'channel number out of range' };
    const peerKey = `${peerAddress}|${peerPort}`;
    const byNumber = this.#byNumber.get(number);
    const byPeer = this.#byPeer.get(peerKey);
    if (byNumber && (byNumber.peerAddress !== peerAddress || byNumber.peerPort !== peerPort)) {
      return { ok: false, reason: 'invalid', detail: 'channel bound to another peer' };
    }
    if (byPeer && byPeer.number !== number) return { ok: false, reason: 'invalid', detail: 'peer bound to another channel' };
    if (byNumber) {
      byNumber.expiresAt = now + CHANNEL_LIFETIME_MS;
      return { ok: true, binding: byNumber, created: false };
    }
    if (this.#byNumber.size >= maxBindings) return { ok: false, reason: 'capacity', detail: `at most ${maxBindings} channels per allocation` };
    const binding = new ChannelBinding(number, peerAddress, peerPort, now);
    this.#byNumber.set(number, binding);
    this.#byPeer.set(peerKey, binding);
    return { ok: true, binding, created: true };
  }

  /** Forgets bindings whose quarantine has ended; returns them so callers can unlink them. */
  sweep(now: number): ChannelBinding[] {
    const gone: ChannelBinding[] = [];
    for (const b of this.#byNumber.values()) {
      if (b.expiresAt + CHANNEL_QUARANTINE_MS <= now) {
        this.#byNumber.delete(b.number);
        this.#byPeer.delete(`${b.peerAddress}|${b.peerPort}`);
        gone.push(b);
      }
    }
    return gone;
  }

  clear(): void {
    this.#byNumber.clear();
    this.#byPeer.clear();
  }
}
