/**
 * Shares one subscriber's downlink among its video tracks (docs/BANDWIDTH.md). Pure: the caller keeps the
 * state between runs and applies the result. Audio never enters it: it is never paused or delayed for video.
 */

/** Allocations may keep layers above the lowest up to this share of the capacity (a lowest layer: all of it)... */
export const KEEP_SHARE = 0.95;
/**
 * Flowing tracks keep their lowest layers up to this share of the capacity: after congestion the estimate sits at
 * 0.85 x what the link delivered (GCC's decrease), so this is ~94 % of what it was just shown to carry.
 */
export const FLOOR_SHARE = 1.1;
/** ...but an upgrade or a resume must fit in this share (the gap between the two stops flapping at the edge). */
export const UPGRADE_SHARE = 0.85;
/** A paused track resumes only when its lowest layer fits with this much to spare. */
export const RESUME_MARGIN = 1.2;
/** No spatial upgrade for this long after a downgrade for bandwidth (mediasoup waits 10 s too). */
export const HOLD_AFTER_DOWNGRADE_MS = 10_000;
/** A track downgraded again after a recovery upgrade recovers again only this long after it: ≤ 2 down-and-up cycles a minute when the estimate wavers. */
export const UPGRADE_INTERVAL_MS = 30_000;

export const PAUSED = -1;
/** A temporal layer cap that drops nothing: the full frame rate (VP8's TID is 2 bits). */
export const ALL_TEMPORAL = 3;

export interface AllocatableTrack {
  /** Higher goes first: screen share, then the teacher or active speaker, then everyone else. */
  readonly priority: number;
  /** Each layer's bitrate (bps), lowest first (a stopped layer: what it cost when it ran); 0 for one never received. */
  readonly layerBps: readonly number[];
  /** The highest layer the subscriber wants (shown size, chosen quality); PAUSED when it turned the track off. */
  readonly wanted: number;
  /** The layer allocated by the previous run; PAUSED when paused. */
  readonly allocated: number;
  /** When this track was last downgraded or paused for bandwidth, and last upgraded (ms; -Infinity: never). */
  readonly downgradedAt: number;
  readonly upgradedAt: number;
  /**
   * VP8 with temporal layers: what its lowest layer costs at reduced frame rates, by the highest temporal layer kept
   * (index t: TIDs 0..t), below the full rate. Absent or empty without temporal layers (H264, VP8 without TIDs).
   */
  readonly temporalBps?: readonly number[];
  /** The temporal layer allocated by the previous run; ALL_TEMPORAL (the default) at the full frame rate. */
  readonly allocatedTemporal?: number;
}

/** A track's share: its highest spatial layer (or PAUSED), and its highest temporal layer (ALL_TEMPORAL: all). */
export interface Allocation {
  layer: number;
  temporal: number;
}

/** `allocateLayers` for callers that only need the spatial layers. */
export function allocate(tracks: readonly AllocatableTrack[], capacityBps: number | undefined, now: number, provenBps = capacityBps): number[] {
  return allocateLayers(tracks, capacityBps, now, provenBps).map((a) => a.layer);
}

/**
 * The highest layer (or PAUSED) each track may receive, in the order given. Without a capacity (no estimate yet),
 * every track gets what it wants. With one: every wanted track gets its lowest layer, in priority order, while they fit;
 * one whose lowest layer does not fit gets it at a lower frame rate if it has temporal layers (TIDs 0..1, then TID 0
 * alone), and is paused only when none fits, the lowest priorities first. Then, highest priority first, tracks at the
 * full frame rate keep the layers they had while the total fits in KEEP_SHARE, and go higher (or resume) only within
 * UPGRADE_SHARE of `provenBps` (what a probe showed the link carries; the capacity when not given) and outside their
 * hold and interval. A frame rate goes back up as an upgrade does: within UPGRADE_SHARE of `provenBps`.
 */
export function allocateLayers(tracks: readonly AllocatableTrack[], capacityBps: number | undefined, now: number, provenBps = capacityBps): Allocation[] {
  // Unlimited, a track may have what it wants: the down track itself forwards the highest layer being sent.
  if (capacityBps === undefined) return tracks.map((t) => ({ layer: t.wanted, temporal: ALL_TEMPORAL }));
  const result = tracks.map((t) => (t.wanted === PAUSED ? PAUSED : ceiling(t)));
  const temporal = tracks.map(() => ALL_TEMPORAL);
  const keep = KEEP_SHARE * capacityBps;
  const upgrade = UPGRADE_SHARE * Math.min(capacityBps, provenBps ?? capacityBps);
  const order = tracks.map((_, i) => i).sort((a, b) => tracks[b].priority - tracks[a].priority);
  const target = [...result];
  let used = 0;
  for (const i of order) {
    if (target[i] === PAUSED) continue;
    const t = tracks[i];
    const floor = lowestReceived(t);
    const reduced = t.temporalBps ?? [];
    result[i] = PAUSED;
    // The lowest layer at its full frame rate, then at each lower one (the next run may raise it again).
    for (let level = reduced.length; level >= 0; level--) {
      const full = level === reduced.length;
      const cost = full ? t.layerBps[floor] : reduced[level];
      const rate = full ? ALL_TEMPORAL : level;
      // A track that is flowing keeps its lowest layer up to FLOOR_SHARE of the capacity: pausing it is the last
      // resort. A resume, or a frame rate above the one it has, is an upgrade.
      const fits =
        t.allocated === PAUSED
          ? used + RESUME_MARGIN * cost <= upgrade
          : rate > (t.allocatedTemporal ?? ALL_TEMPORAL)
            ? used + cost <= upgrade
            : used + cost <= FLOOR_SHARE * capacityBps;
      if (!fits) continue;
      result[i] = floor;
      temporal[i] = rate;
      used += cost;
      break;
    }
  }
  // Higher priorities are raised first, each as far as it goes; tracks of one priority go up a layer at a time
  // together, so two cameras share a link as two middle layers rather than one top and one bottom.
  const maxLayers = Math.max(0, ...tracks.map((t) => t.layerBps.length));
  for (const priority of [...new Set(order.map((i) => tracks[i].priority))]) {
    const group = order.filter((i) => tracks[i].priority === priority);
    for (let level = 1; level < maxLayers; level++) {
      for (const i of group) {
        const t = tracks[i];
        const current = result[i];
        // A track at a reduced frame rate has not the room for its lowest layer: nothing higher.
        if (current === PAUSED || temporal[i] !== ALL_TEMPORAL || level <= current || level > target[i] || t.layerBps[level] === 0) continue;
        const delta = t.layerBps[level] - t.layerBps[current];
        const isUpgrade = level > t.allocated;
        // A recovery that a downgrade undid waits out the interval; a recovery going on (up, then up again) does not.
        const undone = t.downgradedAt > t.upgradedAt;
        const allowed = isUpgrade
          ? used + delta <= upgrade && now - t.downgradedAt >= HOLD_AFTER_DOWNGRADE_MS && (!undone || now - t.upgradedAt >= UPGRADE_INTERVAL_MS)
          : used + delta <= keep;
        if (!allowed) continue;
        result[i] = level;
        used += delta;
      }
    }
  }
  return result.map((layer, i) => ({ layer, temporal: layer === PAUSED ? ALL_TEMPORAL : temporal[i] }));
}

/** The highest layer being received up to the one wanted; the lowest received when none is at or below it. */
export function ceiling(t: AllocatableTrack): number {
  let best = -1;
  for (let i = 0; i < t.layerBps.length; i++) {
    if (t.layerBps[i] === 0) continue;
    if (i <= t.wanted || best < 0) best = i;
    if (i >= t.wanted) break;
  }
  return best < 0 ? Math.min(Math.max(t.wanted, 0), t.layerBps.length - 1) : best;
}

/** The lowest layer being received (0 when none is). */
export function lowestReceived(t: Pick<AllocatableTrack, 'layerBps'>): number {
  const i = t.layerBps.findIndex((bps) => bps > 0);
  return i < 0 ? 0 : i;
}
