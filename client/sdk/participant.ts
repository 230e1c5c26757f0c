import type { ParticipantInfo, ParticipantPermissions, TrackInfo } from '../../signaling/messages.js';

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
  name: string | undefined;
  /** Application data (e.g. a raised hand), as the server last told it (`participantUpdated`). */
  metadata: string | undefined;
  /** What it may do now (moderators may change it). */
  permissions: ParticipantPermissions;
  readonly joinedAt: number;
  readonly tracks = new Map<string, RemoteTrackInfo>();

  constructor(info: ParticipantInfo) {
    this.identity = info.identity;
    this.sid = info.sid;
    this.name = info.name;
    this.metadata = info.metadata;
    this.permissions = info.permissions;
    this.joinedAt = info.joinedAt;
    for (const track of info.tracks) this.tracks.set(track.trackId, { ...track });
  }

  /** A `participantUpdated` about it: name, metadata and permissions (its tracks come with their own events). */
  update(info: ParticipantInfo): void {
    this.name = info.name;
    this.metadata = info.metadata;
    this.permissions = info.permissions;
  }

  /** Tracks currently being received. */
  get subscribedTracks(): RemoteTrackInfo[] {
    return [...this.tracks.values()].filter((t) => t.track !== undefined);
  }
}
