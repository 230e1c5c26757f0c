import type { TrackInfo } from '../../signaling/messages.js';

/** A track this client publishes: the server's track info plus the local m-line and track. */
export interface LocalTrack extends TrackInfo {
  readonly mid: string;
  readonly track: MediaStreamTrack;
  /**
   * Mutes it here (`track.enabled = false`: silence or black frames) and on the server, which then forwards it to
   * nobody (`muteTrack`); resolves once the server has done it.
   */
  mute(): Promise<void>;
  /** Unmutes it here and on the server (also after a moderator muted it, or when asked with `unmuteRequested`). */
  unmute(): Promise<void>;
}

/** `setMuted` sends `muteTrack` and resolves on the server's `requestDone`. */
export function makeLocalTrack(info: TrackInfo, mid: string, track: MediaStreamTrack, setMuted: (trackId: string, muted: boolean) => Promise<void>): LocalTrack {
  const local: LocalTrack = {
    ...info,
    mid,
    track,
    mute: async () => {
      track.enabled = false;
      local.muted = true;
      await setMuted(info.trackId, true);
    },
    unmute: async () => {
      track.enabled = true;
      await setMuted(info.trackId, false);
      local.muted = false;
    },
  };
  return local;
}
