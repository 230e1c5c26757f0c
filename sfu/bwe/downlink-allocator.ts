import type { DownTrack } from '../media/down-track.js';
import { allocate, PAUSED, type AllocatableTrack } from './allocator.js';
import { CapacityEstimate } from './capacity.js';

/** Allocation is run again this often: layers start and stop at the publishers, and their bitrates move. */
const RUN_INTERVAL_MS = 1000;

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
}

interface TrackState {
  settings: VideoSettings;
  allocated: number;
  downgradedAt: number;
  upgradedAt: number;
}

/**
 * The bandwidth side of one subscriber connection: takes its browser's estimates (REMB), and decides for each
 * video down track which layer it forwards, or that it is paused (allocator.ts), when the estimate changes,
 * when the subscriber changes a track's settings, when tracks come and go, and once a second.
 */
export class DownlinkAllocator {
  readonly #capacity = new CapacityEstimate();
  readonly #tracks = new Map<DownTrack, TrackState>();
  readonly #onState: (downTrack: DownTrack, state: VideoTrackState) => void;
  #timer?: NodeJS.Timeout;
  #closed = false;

  constructor(onState: (downTrack: DownTrack, state: VideoTrackState) => void) {
    this.#onState = onState;
  }

  get capacityBps(): number | undefined {
    return this.#capacity.bps;
  }

  add(downTrack: DownTrack): void {
    if (this.#closed || downTrack.track.kind !== 'video') return;
    const top = downTrack.track.layers.length - 1;
    this.#tracks.set(downTrack, { settings: { enabled: true, maxLayer: top }, allocated: top, downgradedAt: -Infinity, upgradedAt: -Infinity });
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

  /** One REMB from the subscriber's browser. */
  onEstimate(bps: number, now = performance.now()): void {
    if (this.#capacity.report(bps, now)) this.run(now);
  }

  run(now = performance.now()): void {
    if (this.#closed || this.#tracks.size === 0) return;
    const entries = [...this.#tracks];
    const input: AllocatableTrack[] = entries.map(([downTrack, state]) => ({
      priority: downTrack.track.source === 'screen' ? 2 : 0,
      layerBps: downTrack.track.layers.map((layer) => (layer.active(now) ? Math.max(layer.bitrateBps, 1) : 0)),
      wanted: state.settings.enabled ? state.settings.maxLayer : PAUSED,
      allocated: state.allocated,
      downgradedAt: state.downgradedAt,
      upgradedAt: state.upgradedAt,
    }));
    const result = allocate(input, this.#capacity.bps, now);
    entries.forEach(([downTrack, state], i) => {
      const layer = result[i];
      if (layer === state.allocated) return;
      const bandwidth = input[i].wanted !== PAUSED && (layer === PAUSED || layer < Math.min(input[i].wanted, state.allocated));
      if (bandwidth) state.downgradedAt = now;
      // The upgrade interval paces recoveries from bandwidth downgrades, not a subscriber enlarging a tile.
      else if (layer > state.allocated && state.downgradedAt > state.upgradedAt) state.upgradedAt = now;
      state.allocated = layer;
      downTrack.setPaused(layer === PAUSED);
      if (layer !== PAUSED) downTrack.setMaxLayer(layer);
      this.#onState(downTrack, { paused: layer === PAUSED, layer });
    });
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#tracks.clear();
  }
}
