/**
 * Connection quality per participant, as LiveKit's `ConnectionQuality` but judged on this client from periodic
 * `getStats()` samples: a remote participant from the tracks this client receives from them, the local participant
 * from its own two connections. Pure: the caller reads the stats and passes the clock (docs/BANDWIDTH.md,
 * "Connection quality").
 */
export type ConnectionQuality = 'excellent' | 'good' | 'poor' | 'lost';

const RANK: Record<ConnectionQuality, number> = { lost: 0, poor: 1, good: 2, excellent: 3 };

/** Share of packets lost at which a track falls to `good`, then `poor`: LiveKit's bar for video (2 % and 6 %). */
export const LOSS_GOOD = 0.02;
export const LOSS_POOR = 0.06;
/** Under this many packets in an interval one loss is worth 5 %: too few to judge (LiveKit skips sparse audio alike). */
export const MIN_PACKETS_FOR_LOSS = 20;
/** Interarrival jitter, seconds: 30 ms is the usual bar for voice; at 100 ms the jitter buffer adds ~200 ms of delay. */
export const JITTER_GOOD_S = 0.03;
export const JITTER_POOR_S = 0.1;
/** Any freeze in an interval is `good` at best; this much frozen time, or this many freezes, is `poor` (the shaped tests' bar: no 1 s freeze). */
export const FREEZE_POOR_S = 1;
export const FREEZES_POOR = 2;
/** An unpaused track without a packet this long is silent: `poor`, and `lost` when all of a participant's unpaused tracks are. */
export const SILENT_AFTER_MS = 3000;
/** Freezes are not counted until a track has flowed this long: the pause before a resume is reported as a freeze. */
export const RESUME_GRACE_MS = 1000;
/** Round-trip time, seconds: ITU-T G.114 calls 150 ms one way fine for most uses and over 400 ms unacceptable. */
export const RTT_GOOD_S = 0.3;
export const RTT_POOR_S = 0.8;
/** Less than one low camera layer (100 kbit/s, simulcast.ts) and a microphone: no camera can be received. */
export const INCOMING_POOR_BPS = 150_000;
/** A worse level shows at once, a better one once it has held this long (three 2 s samples): LiveKit also rises slower than it falls. */
export const RISE_AFTER_MS = 6000;

/** How the server sends a received track, from its `trackState` messages and this client's own track settings. */
export interface TrackCondition {
  /** `app`: this client hides it (adaptive stream, or its settings); `bandwidth`: the server paused it for lack of bandwidth. */
  paused: 'no' | 'app' | 'bandwidth';
  /** Layers below the highest it was sent at under its current settings. */
  layersBelow: number;
  /** When it last started flowing again (shown, or unpaused); -Infinity when it never stopped. */
  flowingSince: number;
}

/** An audio track, or a video track the server never said anything about. */
export const FLOWING: TrackCondition = { paused: 'no', layersBelow: 0, flowingSince: -Infinity };

/** The cumulative counters of one `inbound-rtp` stats object (one SSRC). */
export interface InboundRtpCounters {
  id: string;
  packetsReceived: number;
  packetsLost: number;
  /** Seconds (RFC 3550 interarrival jitter). */
  jitter?: number;
  freezeCount?: number;
  /** Seconds. */
  totalFreezesDuration?: number;
}

/** One track this client receives, at one sample. */
export interface ReceivedTrackSample {
  trackId: string;
  /** Who publishes it. */
  identity: string;
  kind: 'audio' | 'video';
  condition: TrackCondition;
  /** Its m-line's `inbound-rtp` stats: one per SSRC it has had. */
  inbound: InboundRtpCounters[];
}

/** This client's own links, at one sample. */
export interface LocalLinkSample {
  /** A peer connection is `disconnected` or `failed`. */
  disconnected: boolean;
  /** Seconds: the subscriber's selected candidate pair, and the publisher's `remote-inbound-rtp` (the SFU's reports). */
  roundTripTimes: number[];
  /** The subscriber's selected candidate pair's `availableIncomingBitrate`, when the browser gives one. */
  availableIncomingBitrate?: number;
  /** The worst `fractionLost` the SFU reports for what this client publishes. */
  uplinkFractionLost?: number;
  /** An outbound video stream reports `qualityLimitationReason: "bandwidth"`. */
  uplinkLimitedByBandwidth: boolean;
}

export interface QualitySample {
  atMs: number;
  localIdentity: string;
  /** Everyone else in the room; one with no track received has nothing to fault and is `excellent` (LiveKit's default). */
  remoteIdentities: Iterable<string>;
  received: ReceivedTrackSample[];
  local: LocalLinkSample;
}

interface TrackJudgement {
  level: ConnectionQuality;
  /** Unpaused: expected to deliver packets. */
  flowing: boolean;
  silent: boolean;
}

/**
 * Turns samples into a level per participant and reports the changes. Each sample is judged on the deltas since
 * the previous one; a participant's level is its worst track's (`lost` when every unpaused track is silent).
 */
export class ConnectionQualityMonitor {
  readonly #levels = new Map<string, HeldLevel>();
  /** The previous sample's counters, by stats id. */
  #counters = new Map<string, InboundRtpCounters>();
  /** When each received track last delivered a packet (or was paused, or first seen), by track id. */
  #lastPacketAt = new Map<string, number>();
  #lastAt: number | undefined;

  quality(identity: string): ConnectionQuality | undefined {
    return this.#levels.get(identity)?.shown;
  }

  /** A participant left: its level is dropped without an event. */
  forget(identity: string): void {
    this.#levels.delete(identity);
  }

  /** Judges one sample; returns the participants whose level changed, with their new level. */
  update(sample: QualitySample): [identity: string, quality: ConnectionQuality][] {
    const now = sample.atMs;
    const since = this.#lastAt;
    const raw = new Map<string, { level: ConnectionQuality; flowing: number; silent: number }>();
    for (const identity of sample.remoteIdentities) raw.set(identity, { level: 'excellent', flowing: 0, silent: 0 });
    const lastPacketAt = new Map<string, number>();
    for (const track of sample.received) {
      const judged = this.#judgeTrack(track, now, since, lastPacketAt);
      const participant = raw.get(track.identity);
      if (judged === undefined || participant === undefined) continue;
      participant.level = worst(participant.level, judged.level);
      if (judged.flowing) participant.flowing++;
      if (judged.silent) participant.silent++;
    }
    this.#counters = new Map(sample.received.flatMap((t) => t.inbound.map((c) => [c.id, c] as const)));
    this.#lastPacketAt = lastPacketAt;
    this.#lastAt = now;

    const levels = new Map<string, ConnectionQuality>([[sample.localIdentity, judgeLocal(sample.local)]]);
    for (const [identity, p] of raw) levels.set(identity, p.flowing > 0 && p.silent === p.flowing ? 'lost' : p.level);
    for (const identity of this.#levels.keys()) if (!levels.has(identity)) this.#levels.delete(identity);
    const changes: [string, ConnectionQuality][] = [];
    for (const [identity, level] of levels) {
      let held = this.#levels.get(identity);
      if (held === undefined) this.#levels.set(identity, (held = new HeldLevel()));
      if (held.update(level, now, since ?? now)) changes.push([identity, held.shown!]);
    }
    return changes;
  }

  /** One track over the interval since the previous sample; undefined when this client hides it (it says nothing). */
  #judgeTrack(track: ReceivedTrackSample, now: number, since: number | undefined, lastPacketAt: Map<string, number>): TrackJudgement | undefined {
    let received = 0;
    let lost = 0;
    let freezes = 0;
    let frozenS = 0;
    let jitter = 0;
    for (const c of track.inbound) {
      // A stats object not seen before started counting from zero (a new SSRC) within the interval.
      const before = this.#counters.get(c.id);
      const packets = c.packetsReceived - (before?.packetsReceived ?? 0);
      received += Math.max(0, packets);
      lost += c.packetsLost - (before?.packetsLost ?? 0);
      freezes += (c.freezeCount ?? 0) - (before?.freezeCount ?? 0);
      frozenS += (c.totalFreezesDuration ?? 0) - (before?.totalFreezesDuration ?? 0);
      // An SSRC that no longer delivers keeps its last jitter: only a live one's counts.
      if (packets > 0) jitter = Math.max(jitter, c.jitter ?? 0);
    }
    const seenBefore = this.#lastPacketAt.get(track.trackId);
    const { condition } = track;
    lastPacketAt.set(track.trackId, received > 0 || condition.paused !== 'no' || seenBefore === undefined ? now : seenBefore);
    if (condition.paused === 'app') return undefined;
    if (condition.paused === 'bandwidth') return { level: 'poor', flowing: false, silent: false };

    let level: ConnectionQuality = 'excellent';
    const silent = now - Math.max(lastPacketAt.get(track.trackId)!, condition.flowingSince) >= SILENT_AFTER_MS;
    if (silent) level = 'poor';
    // Late packets can lower the cumulative count (RFC 3550's "cumulative number of packets lost" may go negative).
    lost = Math.max(0, lost);
    if (received + lost >= MIN_PACKETS_FOR_LOSS) level = worst(level, byThresholds(lost / (received + lost), LOSS_GOOD, LOSS_POOR));
    level = worst(level, byThresholds(jitter, JITTER_GOOD_S, JITTER_POOR_S));
    const flowedWholeInterval = seenBefore !== undefined && since !== undefined && condition.flowingSince + RESUME_GRACE_MS <= since;
    if (track.kind === 'video' && flowedWholeInterval && freezes > 0) {
      level = worst(level, frozenS >= FREEZE_POOR_S || freezes >= FREEZES_POOR ? 'poor' : 'good');
    }
    // LiveKit's layer score: each layer missed drops one level.
    if (condition.layersBelow > 0) level = worst(level, condition.layersBelow >= 2 ? 'poor' : 'good');
    return { level, flowing: true, silent };
  }
}

/** The local participant: its subscriber connection's round trip and incoming bitrate, and how its publisher fares. */
export function judgeLocal(local: LocalLinkSample): ConnectionQuality {
  if (local.disconnected) return 'lost';
  let level = byThresholds(Math.max(0, ...local.roundTripTimes), RTT_GOOD_S, RTT_POOR_S);
  if (local.uplinkFractionLost !== undefined) level = worst(level, byThresholds(local.uplinkFractionLost, LOSS_GOOD, LOSS_POOR));
  if (local.uplinkLimitedByBandwidth) level = worst(level, 'good');
  if (local.availableIncomingBitrate !== undefined && local.availableIncomingBitrate < INCOMING_POOR_BPS) level = 'poor';
  return level;
}

/**
 * One participant's shown level: a worse level shows at once; a better one once every sample for `RISE_AFTER_MS`
 * was better (it rises to the worst of them). Out of `lost`, packets flowing again show `poor` at once.
 */
class HeldLevel {
  shown: ConnectionQuality | undefined;
  #better: { since: number; level: ConnectionQuality } | undefined;

  /** `intervalStart`: when the interval this level describes began. True when `shown` changed. */
  update(level: ConnectionQuality, now: number, intervalStart: number): boolean {
    const shown = this.shown;
    if (shown === undefined || RANK[level] <= RANK[shown]) {
      this.#better = undefined;
      this.shown = level;
      return level !== shown;
    }
    if (this.#better === undefined) this.#better = { since: intervalStart, level };
    else this.#better.level = worst(this.#better.level, level);
    if (shown === 'lost') {
      this.shown = 'poor';
      if (level === 'poor') this.#better = undefined;
      return true;
    }
    if (now - this.#better.since < RISE_AFTER_MS) return false;
    this.shown = this.#better.level;
    this.#better = undefined;
    return true;
  }
}

function worst(a: ConnectionQuality, b: ConnectionQuality): ConnectionQuality {
  return RANK[a] <= RANK[b] ? a : b;
}

function byThresholds(value: number, good: number, poor: number): ConnectionQuality {
  return value >= poor ? 'poor' : value >= good ? 'good' : 'excellent';
}
