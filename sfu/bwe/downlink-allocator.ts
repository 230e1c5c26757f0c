import type { DownTrack } from '../media/down-track.js';
import { probeSucceeded } from './prober.js';
import { ALL_TEMPORAL, allocateLayers, ceiling, lowestReceived, PAUSED, UPGRADE_SHARE, type AllocatableTrack } from './allocator.js';

/** Allocation is run again this often: layers start and stop at the publishers, and their bitrates move. */
const RUN_INTERVAL_MS = 1000;
/** A rise of the estimate this large is acted on at once (a probe's result); smaller rises wait for the next run. */
const JUMP = 1.2;
/** Probes while tracks lack bandwidth: again this soon after one that succeeded... */
export const PROBE_INTERVAL_MIN_MS = 1000;
/** ...doubling after each that failed, up to this: the longest a recovered link waits before it is found. */
export const PROBE_INTERVAL_MAX_MS = 3000;
/** No probe this soon after congestion: the link has just shown its limit. */
export const PROBE_AFTER_CONGESTION_MS = 3000;
/** A probe asks for at most this multiple of what the last one showed (one step of exponential probing). */
export const PROBE_STEP = 2;
/**
 * A flowing track is paused for bandwidth only once its lowest layer has not fitted for this long: a dip in the
 * estimate (a failed probe, a burst of other traffic) must not freeze a picture. After a cut to 0.85 x, growing
 * back at 8 %/s takes ~2.1 s, so this must be well over that.
 */
export const PAUSE_AFTER_MS = 4000;
/**
 * A probe's success earns upgrades once the link has carried it this long with no fall of the estimate: a probe that
 * overfilled the link shows as a cut within a few hundred ms of its feedback (in the shaped test, probes on a
 * 600 kbit/s link sometimes measured room it does not have, and the upgrade's key frame then did not fit).
 */
export const PROBE_SETTLE_MS = 700;
/** Probes aim this much above what the upgrades need, so that a result a little under the target still earns them. */
const PROBE_MARGIN = 1.15;
/**
 * A probe aimed at what a failed probe measured proves at most this share of its target: the failure showed the link
 * full near there, and a switch's key frame needs room above the average (in the shaped test such a probe succeeded
 * at the link's own rate, and the upgrade it earned went up and down again).
 */
export const CAPPED_PROBE_CREDIT = 0.9;

/** The connection's downlink (downlink-estimate.ts): its prober, and the audio bytes sent on it. */
export interface DownlinkProber {
  readonly probing: boolean;
  /** Starts a probe at `targetBps`; false when one is under way or none can be sent. */
  probe(targetBps: number): boolean;
  /** Audio bytes sent so far: the estimate covers audio too, and audio is never cut, so video gets the rest. */
  readonly audioBytes: number;
}

/**
 * A video track's place in allocation (docs/BANDWIDTH.md, "Allocation"): a screen share first, then the teacher's
 * tracks (`PublishedTrack.priority` 1: roomAdmin), then the loudest active speaker's camera, then everyone else.
 */
export function allocationPriority(track: { readonly source: string; readonly priority: number; readonly activeSpeaker?: boolean }): number {
  if (track.source === 'screen') return 3;
  if (track.priority > 0) return 2;
  return track.activeSpeaker === true ? 1 : 0;
}

/** What a subscriber asked for one of its video tracks (the `trackSettings` message, adaptive stream). */
export interface VideoSettings {
  /** False: the subscriber does not show it (hidden, off screen); nothing is sent. */
  enabled: boolean;
  /** The highest layer worth sending: from the size it is shown at, or the quality the application chose. */
  maxLayer: number;
}

/** What a subscriber is told about one of its video tracks when it changes (`trackState`). */
export interface VideoTrackState {
  paused: boolean;
  /** The layer allocated, lowest 0; -1 when paused. */
  layer: number;
  /** Only when the frame rate is cut: the highest VP8 temporal layer sent (0: the base frame rate, a quarter with L1T3). */
  maxTemporalLayer?: number;
}

interface TrackState {
  settings: VideoSettings;
  allocated: number;
  /** The temporal layer allocated (ALL_TEMPORAL: the full frame rate). */
  temporal: number;
  /** Since when the estimate cannot carry this flowing track's lowest layer (-1: it can). */
  shortSince: number;
  downgradedAt: number;
  upgradedAt: number;
}

/**
 * The bandwidth side of one subscriber connection: takes its downlink estimate, and decides for each video down
 * track which layer it forwards, or that it is paused (allocator.ts), when the estimate falls (or jumps), when the
 * subscriber changes a track's settings, when tracks come and go, and once a second. When tracks lack bandwidth it
 * probes for more (docs/BANDWIDTH.md, "Probing").
 */
export class DownlinkAllocator {
  #capacity: number | undefined;
  /** What the link was shown to carry: a successful probe's result, lowered with every fall of the estimate. */
  #proven: number | undefined;
  /** What was proven before the last successful probe raised it, and when it did (upgrades wait PROBE_SETTLE_MS). */
  #provenBefore: number | undefined;
  #provenRaisedAt = -Infinity;
  readonly #tracks = new Map<DownTrack, TrackState>();
  readonly #onState: (downTrack: DownTrack, state: VideoTrackState) => void;
  readonly #prober?: DownlinkProber;
  #timer?: NodeJS.Timeout;
  #closed = false;
  #congestionAt = -Infinity;
  #probeInterval = PROBE_INTERVAL_MIN_MS;
  #nextProbeAt = -Infinity;
  /** What the last probe measured when it failed: the next probe aims no higher. */
  #failedProbeResult: number | undefined;
  /** The target of the probe under way when a failed probe's result capped it. */
  #cappedTarget: number | undefined;
  /** Audio's rate on the connection, measured between runs. */
  #audioBps = 0;
  #audioSample = { atMs: -Infinity, bytes: 0 };

  constructor(onState: (downTrack: DownTrack, state: VideoTrackState) => void, prober?: DownlinkProber) {
    this.#onState = onState;
    this.#prober = prober;
  }

  get capacityBps(): number | undefined {
    return this.#capacity;
  }

  add(downTrack: DownTrack): void {
    if (this.#closed || downTrack.track.kind !== 'video') return;
    const top = downTrack.track.layers.length - 1;
    this.#tracks.set(downTrack, { settings: { enabled: true, maxLayer: top }, allocated: top, temporal: ALL_TEMPORAL, shortSince: -1, downgradedAt: -Infinity, upgradedAt: -Infinity });
    this.#timer ??= setInterval(() => this.run(), RUN_INTERVAL_MS).unref();
    this.run();
  }

  remove(downTrack: DownTrack): void {
    if (!this.#tracks.delete(downTrack) || this.#tracks.size > 0) return;
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** A subscriber's settings for one track; false when it is not one of this connection's video tracks. */
  configure(downTrack: DownTrack, settings: VideoSettings): boolean {
    const state = this.#tracks.get(downTrack);
    if (!state) return false;
    state.settings = settings;
    this.run();
    return true;
  }

  /** The connection's downlink estimate changed: a fall is acted on at once, a rise at the next run unless it jumped. */
  onEstimate(bps: number, now = performance.now()): void {
    const previous = this.#capacity;
    this.#capacity = bps;
    // The first estimate comes from congestion too (until then nothing was limited).
    if (previous === undefined || bps < previous) this.#congestionAt = now;
    // Growth without a probe keeps layers but earns no upgrade (upgrades wait for a successful probe).
    if (this.#proven === undefined || bps < this.#proven) this.#proven = bps;
    if (previous === undefined || bps < previous || bps >= JUMP * previous) this.run(now);
  }

  /**
   * A probe ended: after a success the next step comes soon, after a failure later and later. Only a success proves
   * room for upgrades (a failed probe's result, at the edge of the link, upgraded a camera whose switch key frame the
   * link then could not carry); a failure's result caps the next probe instead, so a link with room for part of the
   * step still gets it, one probe later.
   */
  onProbeResult(targetBps: number, resultBps: number | undefined, now = performance.now()): void {
    const succeeded = probeSucceeded(targetBps, resultBps);
    const credit = targetBps === this.#cappedTarget ? Math.min(resultBps ?? 0, CAPPED_PROBE_CREDIT * targetBps) : resultBps ?? 0;
    this.#cappedTarget = undefined;
    if (succeeded && this.#capacity !== undefined && (this.#proven === undefined || credit > this.#proven)) {
      this.#provenBefore = this.#proven;
      this.#provenRaisedAt = now;
      this.#proven = Math.min(credit, this.#capacity);
    }
    this.#failedProbeResult = succeeded ? undefined : resultBps;
    this.#probeInterval = succeeded ? PROBE_INTERVAL_MIN_MS : Math.min(2 * this.#probeInterval, PROBE_INTERVAL_MAX_MS);
    this.#nextProbeAt = now + this.#probeInterval;
    this.run(now);
  }

  run(now = performance.now()): void {
    if (this.#closed || this.#tracks.size === 0) return;
    const entries = [...this.#tracks];
    const input: AllocatableTrack[] = entries.map(([downTrack, state]) => {
      const layers = downTrack.track.layers;
      // A stopped layer is priced at what it cost when it ran: allocating it asks dynacast to start it again. Layers
      // above the allocated one at what switching to them costs: going up starts with a key frame, and a link that
      // carries the average only congests at the switch (and goes down again).
      const layerBps = layers.map((layer) =>
        Math.max(layer.index > state.allocated ? layer.switchBitrateBps(now) : layer.expectedBitrateBps(now), layer.active(now) ? 1 : 0),
      );
      // VP8 temporal layers of the lowest layer: the same price scaled by the share of its bytes those TIDs carry.
      const floor = layers[lowestReceived({ layerBps })];
      const temporalBps = floor ? Array.from({ length: floor.temporalLayers }, (_, t) => layerBps[floor.index] * floor.temporalShare(t)) : [];
      return {
        priority: allocationPriority(downTrack.track),
        layerBps,
        wanted: state.settings.enabled ? state.settings.maxLayer : PAUSED,
        allocated: state.allocated,
        downgradedAt: state.downgradedAt,
        upgradedAt: state.upgradedAt,
        temporalBps,
        allocatedTemporal: state.temporal,
      };
    });
    const audio = this.#measureAudio(now);
    const videoCapacity = this.#capacity === undefined ? undefined : Math.max(0, this.#capacity - audio);
    // A fall of the estimate lowers what was proven (onEstimate); a fresh probe's success counts once it has settled.
    const settling = now - this.#provenRaisedAt < PROBE_SETTLE_MS && this.#provenBefore !== undefined;
    const proven = settling ? Math.min(this.#proven!, this.#provenBefore!) : this.#proven;
    const videoProven = proven === undefined ? undefined : Math.max(0, proven - audio);
    const allocations = allocateLayers(input, videoCapacity, now, videoProven);
    entries.forEach(([downTrack, state], i) => {
      let layer = allocations[i].layer;
      let temporal = allocations[i].temporal;
      if (layer === PAUSED && input[i].wanted !== PAUSED && state.allocated !== PAUSED) {
        if (state.shortSince < 0) state.shortSince = now;
        if (now - state.shortSince < PAUSE_AFTER_MS) {
          // Until it is paused, the cheapest it can have: the lowest layer at the lowest frame rate.
          layer = lowestReceived(input[i]);
          temporal = input[i].temporalBps!.length > 0 ? 0 : ALL_TEMPORAL;
        }
      } else {
        state.shortSince = -1;
      }
      allocations[i] = { layer, temporal };
      if (layer === state.allocated && temporal === state.temporal) return;
      const cut = layer !== PAUSED && temporal < state.temporal;
      const bandwidth = input[i].wanted !== PAUSED && (layer === PAUSED || layer < Math.min(input[i].wanted, state.allocated) || cut);
      const recovery = !bandwidth && layer > state.allocated && state.downgradedAt > state.upgradedAt;
      if (bandwidth) state.downgradedAt = now;
      // The upgrade interval paces recoveries from bandwidth downgrades, not a subscriber enlarging a tile.
      else if (recovery) state.upgradedAt = now;
      state.allocated = layer;
      if (temporal !== state.temporal) downTrack.setMaxTemporalLayer(temporal);
      state.temporal = temporal;
      downTrack.setPaused(layer === PAUSED);
      if (layer !== PAUSED) downTrack.setMaxLayer(layer, bandwidth || recovery ? 'bandwidth' : 'settings');
      this.#onState(downTrack, { paused: layer === PAUSED, layer, ...(temporal < ALL_TEMPORAL ? { maxTemporalLayer: temporal } : {}) });
    });
    this.#maybeProbe(input, allocations, videoCapacity, now);
  }

  #measureAudio(now: number): number {
    if (!this.#prober) return 0;
    const sample = this.#audioSample;
    const elapsed = now - sample.atMs;
    if (elapsed >= 500) {
      const bytes = this.#prober.audioBytes;
      if (Number.isFinite(elapsed)) this.#audioBps = ((bytes - sample.bytes) * 8000) / elapsed;
      this.#audioSample = { atMs: now, bytes };
    }
    return this.#audioBps;
  }

  /**
   * Probes when a track gets less than it wants (a lower layer, or paused) for lack of bandwidth: toward what all of
   * them want, at most PROBE_STEP times what the last probe showed, not right after congestion, and spaced out.
   */
  #maybeProbe(input: readonly AllocatableTrack[], result: readonly { layer: number; temporal: number }[], videoCapacity: number | undefined, now: number): void {
    const capacity = this.#capacity;
    if (!this.#prober || capacity === undefined || videoCapacity === undefined || this.#prober.probing) return;
    let wantedBps = 0;
    let short = false;
    input.forEach((t, i) => {
      if (t.wanted === PAUSED || t.layerBps.every((bps) => bps === 0)) return;
      const top = ceiling(t);
      wantedBps += t.layerBps[top];
      if (result[i].layer === PAUSED || result[i].layer < top || result[i].temporal < ALL_TEMPORAL) short = true;
    });
    // Upgrades are held by what a probe showed, not by the estimate's own growth: probing starts from there.
    const proven = this.#proven ?? capacity;
    const goal = (PROBE_MARGIN * wantedBps) / UPGRADE_SHARE + (capacity - videoCapacity);
    if (!short || goal <= proven) {
      this.#probeInterval = PROBE_INTERVAL_MIN_MS;
      return;
    }
    if (now < this.#nextProbeAt || now - this.#congestionAt < PROBE_AFTER_CONGESTION_MS) return;
    let target = Math.min(goal, PROBE_STEP * proven);
    // Aiming at what a failed probe measured only helps when that is above what is proven already.
    const failed = this.#failedProbeResult;
    this.#failedProbeResult = undefined;
    const capped = failed !== undefined && failed > PROBE_MARGIN * proven && failed < target;
    if (capped) target = failed;
    if (!this.#prober.probe(target)) return;
    this.#nextProbeAt = Infinity;
    this.#cappedTarget = capped ? target : undefined;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#tracks.clear();
  }
}
