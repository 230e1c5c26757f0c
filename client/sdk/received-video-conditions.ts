import { FLOWING, type TrackCondition } from './connection-quality.js';
import type { TrackSettings, TrackState } from './room-types.js';

/**
 * How long after this client shows a track again a `paused` from before still counts as its own doing: the server
 * answers a `trackSettings` with a `trackState` within one round trip (one allocation run); 1 s is ample.
 */
export const SETTINGS_ANSWER_MS = 1000;

interface VideoState {
  /** The last settings sent had `enabled: false`. */
  hidden: boolean;
  shownAt: number;
  /** The size and quality asked for (a change moves the layer wanted). */
  size: string;
  paused: boolean;
  layer: number | undefined;
  /** The highest layer sent under the current size and quality: the one wanted, as far as this client can tell. */
  reference: number | undefined;
  flowingSince: number;
  /** Muted on the server (audio tracks get a state only for this). */
  muted: boolean;
}

/**
 * Why each received video track is sent as it is, for connection quality: `trackState` says paused or which
 * layer, not why, so the reason is inferred from what this client asked (`trackSettings`). Paused while this client
 * hides it: its own doing; paused otherwise: bandwidth. Below the layer wanted: below the highest layer the track
 * was sent at since its size or quality last changed (a track that never reached its wanted layer under the current
 * settings is not seen as below it). A track muted on the server (any kind) sends nothing and is not judged, as one
 * this client hides. Clock passed in, no I/O.
 */
export class ReceivedVideoConditions {
  readonly #tracks = new Map<string, VideoState>();

  /** This client sent `trackSettings` for these tracks. */
  settingsSent(trackIds: Iterable<string>, settings: TrackSettings, now: number): void {
    for (const trackId of trackIds) {
      const state = this.#state(trackId);
      if (settings.enabled === false) {
        state.hidden = true;
        continue;
      }
      if (state.hidden) {
        state.hidden = false;
        state.shownAt = now;
        state.flowingSince = now;
      }
      const size = sizeKey(settings);
      if (size !== state.size) {
        state.size = size;
        state.reference = undefined;
      }
    }
  }

  /** The server's `trackState` for a received video track. */
  trackState(trackId: string, trackState: TrackState, now: number): void {
    const state = this.#state(trackId);
    if (state.paused && !trackState.paused) state.flowingSince = now;
    state.paused = trackState.paused;
    if (trackState.paused) return;
    state.layer = trackState.layer;
    state.reference = Math.max(state.reference ?? trackState.layer, trackState.layer);
  }

  /** The track's server-side mute (`RemoteTrackInfo.muted`: its publisher or a moderator); unmuted, it flows again from `now`. */
  setMuted(trackId: string, muted: boolean, now: number): void {
    if (!muted && this.#tracks.get(trackId)?.muted !== true) return;
    const state = this.#state(trackId);
    if (state.muted && !muted) state.flowingSince = now;
    state.muted = muted;
  }

  condition(trackId: string, now: number): TrackCondition {
    const state = this.#tracks.get(trackId);
    if (state === undefined) return FLOWING;
    const { flowingSince } = state;
    if (state.muted) return { paused: 'app', layersBelow: 0, flowingSince };
    // Just shown again: the server's resume is on its way.
    if (state.hidden || (state.paused && now - state.shownAt < SETTINGS_ANSWER_MS)) return { paused: 'app', layersBelow: 0, flowingSince };
    if (state.paused) return { paused: 'bandwidth', layersBelow: 0, flowingSince };
    const layersBelow = state.layer !== undefined && state.reference !== undefined ? state.reference - state.layer : 0;
    return { paused: 'no', layersBelow, flowingSince };
  }

  /** The track is no longer received. */
  forget(trackId: string): void {
    this.#tracks.delete(trackId);
  }

  clear(): void {
    this.#tracks.clear();
  }

  #state(trackId: string): VideoState {
    let state = this.#tracks.get(trackId);
    if (state === undefined) {
      state = { hidden: false, shownAt: -Infinity, size: sizeKey({}), paused: false, layer: undefined, reference: undefined, flowingSince: -Infinity, muted: false };
      this.#tracks.set(trackId, state);
    }
    return state;
  }
}

/** Fields left out take the server's defaults: any size, `high`. */
function sizeKey(settings: TrackSettings): string {
  return `${settings.width ?? '-'}x${settings.height ?? '-'}/${settings.quality ?? 'high'}`;
}
