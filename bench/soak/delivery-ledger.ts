import { readStamp, writeStamp } from './media-stamp.js';

/**
 * Exact media delivery per track and per window. The publisher side stamps each packet with its track's tag, the
 * window it is sent in and an index, and counts the packets it sent per window; each subscriber counts the distinct
 * packets it received per (track, window) by reading the stamp. A window of a subscription is judged only when the
 * subscription was up for the whole window: its first packet arrived before the window began, and the subscriber
 * was still there and the publisher still sending `marginMs` after it ended (packets in flight, retransmissions).
 * Windows in which a subscription started or ended are therefore left out, and nothing else is.
 */
export interface PublishedTrack {
  readonly tag: number;
  readonly label: string;
  readonly kind: 'audio' | 'video';
  /** The SFU's track id, once the publish answer named it. */
  trackId?: string;
}

export interface WindowVerdict {
  subscriber: string;
  track: string;
  kind: 'audio' | 'video';
  window: number;
  /** Window start, ms since the ledger's origin. */
  startMs: number;
  sent: number;
  received: number;
  pct: number;
}

export interface DeliveryReport {
  windows: number;
  below: WindowVerdict[];
  worst?: WindowVerdict;
  sent: number;
  received: number;
  /** Judged windows in which the publisher sent nothing (a bot that stalled; should be 0). */
  emptyWindows: number;
  /** Subscriptions announced in a subscriber offer that received nothing within the start grace. */
  stalled: { subscriber: string; track: string; waitedMs: number }[];
  /** Announcement (subscriber offer) → first packet, per subscription that started. */
  startMs: number[];
}

interface TrackState extends PublishedTrack {
  sent: Map<number, number>;
  next: number;
  firstAt?: number;
  stoppedAt?: number;
}

interface SubscriptionState {
  firstAt?: number;
  received: Map<number, number>;
  /** Indexes seen, per recent window, to count a packet once; older windows keep only their counts. */
  seen: Map<number, Set<number>>;
}

interface SubscriberState {
  leftAt?: number;
  byTag: Map<number, SubscriptionState>;
  announced: Map<string, number>;
}

const KEEP_SEEN_WINDOWS = 3;

export class DeliveryLedger {
  readonly #tracks = new Map<number, TrackState>();
  readonly #subscribers = new Map<string, SubscriberState>();

  /** @param origin performance.now() at which window 0 begins. */
  constructor(
    readonly origin: number,
    readonly windowMs = 5000,
    readonly marginMs = 1000,
  ) {}

  windowOf(now: number): number {
    return Math.floor((now - this.origin) / this.windowMs);
  }

  addTrack(label: string, kind: 'audio' | 'video'): PublishedTrack {
    const track: TrackState = { tag: this.#tracks.size + 1, label, kind, sent: new Map(), next: 0 };
    this.#tracks.set(track.tag, track);
    return track;
  }

  /** Stamps a payload about to be sent on `track` and counts it in the current window. */
  stamp(track: PublishedTrack, payload: Buffer, now: number): void {
    const state = this.#tracks.get(track.tag)!;
    const window = this.windowOf(now);
    state.firstAt ??= now;
    writeStamp(payload, state.tag, window, state.next++);
    state.sent.set(window, (state.sent.get(window) ?? 0) + 1);
  }

  stopTrack(track: PublishedTrack, now: number): void {
    const state = this.#tracks.get(track.tag)!;
    state.stoppedAt ??= now;
  }

  /** Counts a received payload for `subscriber` (ignored when it carries no stamp). */
  receive(subscriber: string, payload: Uint8Array, now: number): void {
    const stamp = readStamp(payload);
    if (!stamp || !this.#tracks.has(stamp.tag)) return;
    const sub = this.#subscription(subscriber, stamp.tag);
    sub.firstAt ??= now;
    let seen = sub.seen.get(stamp.window);
    if (!seen) {
      if (sub.received.has(stamp.window)) return; // a very late copy of a window already compacted
      seen = new Set();
      sub.seen.set(stamp.window, seen);
      for (const window of sub.seen.keys()) if (window < stamp.window - KEEP_SEEN_WINDOWS) sub.seen.delete(window);
    }
    if (seen.has(stamp.index)) return;
    seen.add(stamp.index);
    sub.received.set(stamp.window, (sub.received.get(stamp.window) ?? 0) + 1);
  }

  /** The subscriber was offered `trackId` (a `subscriberOffer` listed it); the first offer counts. */
  announce(subscriber: string, trackId: string, now: number): void {
    const state = this.#subscriber(subscriber);
    if (!state.announced.has(trackId)) state.announced.set(trackId, now);
  }

  leave(subscriber: string, now: number): void {
    const state = this.#subscriber(subscriber);
    state.leftAt ??= now;
  }

  /** Judges every complete window up to `now`; `startGraceMs` bounds announcement → first packet. */
  report(now: number, startGraceMs = 10_000): DeliveryReport {
    const report: DeliveryReport = { windows: 0, below: [], sent: 0, received: 0, emptyWindows: 0, stalled: [], startMs: [] };
    const byTrackId = new Map<string, TrackState>();
    for (const track of this.#tracks.values()) if (track.trackId) byTrackId.set(track.trackId, track);
    for (const [subscriber, state] of this.#subscribers) {
      for (const [tag, sub] of state.byTag) {
        const track = this.#tracks.get(tag)!;
        if (sub.firstAt === undefined || track.firstAt === undefined) continue;
        const start = Math.max(sub.firstAt, track.firstAt);
        const end = Math.min(state.leftAt ?? now, track.stoppedAt ?? now) - this.marginMs;
        const first = Math.ceil((start - this.origin) / this.windowMs);
        const last = Math.floor((end - this.origin) / this.windowMs) - 1;
        for (let window = first; window <= last; window++) {
          const sent = track.sent.get(window) ?? 0;
          if (sent === 0) {
            report.emptyWindows++;
            continue;
          }
          const received = Math.min(sub.received.get(window) ?? 0, sent);
          const verdict: WindowVerdict = { subscriber, track: track.label, kind: track.kind, window, startMs: window * this.windowMs, sent, received, pct: (received / sent) * 100 };
          report.windows++;
          report.sent += sent;
          report.received += received;
          if (verdict.pct < 90) report.below.push(verdict);
          if (!report.worst || verdict.pct < report.worst.pct) report.worst = verdict;
        }
      }
      for (const [trackId, announcedAt] of state.announced) {
        const track = byTrackId.get(trackId);
        if (!track) continue; // a track published outside the soak's ledger
        const sub = state.byTag.get(track.tag);
        if (sub?.firstAt !== undefined) {
          report.startMs.push(Math.max(0, sub.firstAt - Math.max(announcedAt, track.firstAt ?? announcedAt)));
          continue;
        }
        const waitedMs = Math.min(state.leftAt ?? now, track.stoppedAt ?? now) - Math.max(announcedAt, track.firstAt ?? now);
        if (waitedMs >= startGraceMs) report.stalled.push({ subscriber, track: track.label, waitedMs });
      }
    }
    return report;
  }

  #subscriber(subscriber: string): SubscriberState {
    let state = this.#subscribers.get(subscriber);
    if (!state) {
      state = { byTag: new Map(), announced: new Map() };
      this.#subscribers.set(subscriber, state);
    }
    return state;
  }

  #subscription(subscriber: string, tag: number): SubscriptionState {
    const state = this.#subscriber(subscriber);
    let sub = state.byTag.get(tag);
    if (!sub) {
      sub = { received: new Map(), seen: new Map() };
      state.byTag.set(tag, sub);
    }
    return sub;
  }
}
