import type { ParticipantInfo, TrackInfo } from '../../signaling/messages.js';

/**
 * A track another participant publishes. `track` and `stream` are set while this client receives it
 * (between `trackSubscribed` and `trackUnsubscribed`), so code that attaches listeners late can still find it.
 */
export interface RemoteTrackInfo extends TrackInfo {
  track?: MediaStreamTrack;
  stream?: MediaStream;
}

/** Another participant in the room, as the server last described it. */
export class RemoteParticipant {
  readonly identity: string;
  /** Opaque id; the `id` of the MediaStream this participant's tracks arrive in. */
  readonly sid: string;
  readonly name: string | undefined;
  readonly joinedAt: number;
  readonly tracks = new Map<string, RemoteTrackInfo>();

  constructor(info: ParticipantInfo) {
    this.identity = info.identity;
    this.sid = info.sid;
    this.name = info.name;
    this.joinedAt = info.joinedAt;
    for (const track of info.tracks) this.tracks.set(track.trackId, { ...track });
  }

  /** Tracks currently being received. */
  get subscribedTracks(): RemoteTrackInfo[] {
    return [...this.tracks.values()].filter((t) => t.track !== undefined);
  }
}
