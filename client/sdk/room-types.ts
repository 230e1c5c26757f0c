import type { ParticipantInfo, PeerTargetName, TrackSourceName } from '../../signaling/messages.js';
import type { ActiveSpeaker } from './active-speakers.js';
import type { ConnectionQuality } from './connection-quality.js';
import type { DataMessage } from './data-channels.js';
import type { LocalTrack } from './publisher.js';
import type { RemoteParticipant, RemoteTrackInfo } from './participant.js';

export interface RoomOptions {
  /** Room to join; defaults to the token's `room` claim (read without verification). */
  roomId?: string;
  /** Extra RTCPeerConnection configuration. `iceServers` defaults to the `joined` message's. */
  rtcConfig?: RTCConfiguration;
  /** How long to wait for the socket to open and for `joined` (default 10 000 ms). */
  joinTimeoutMs?: number;
  /** How long a publish waits for its `publishAnswer` (default 15 000 ms). */
  requestTimeoutMs?: number;
  /**
   * Receive every track published in the room without asking (default true). With false, the client receives
   * only the tracks it asks for with `room.subscribe()`: for large rooms, where each received track costs an
   * m-line in every offer and answer (docs/PROTOCOL.md, "Subscribing").
   */
  autoSubscribe?: boolean;
  /**
   * Join again by itself when the session is lost for a reason another join can fix: the node died or drains, the
   * room moved to another node, the socket dropped, a media connection failed (default true). The room emits
   * `reconnecting`, then `reconnected` once joined again and everything published is published again (received
   * tracks come back as new subscriptions), or `disconnected` when it gives up.
   */
  reconnect?: boolean;
  /** How long it keeps trying (default 60 000 ms). */
  reconnectTimeoutMs?: number;
  /**
   * A fresh token from the application's backend, for joining again after the first token expired (a lesson outlives
   * a short-lived token). Called before a rejoin when the token expires within 10 s, and after a rejoin refused with
   * `TOKEN_EXPIRED`. Without it, such a rejoin fails and the room is `disconnected`. A resume needs no token.
   */
  refreshToken?: () => Promise<string>;
  /**
   * A media connection that is cut (`disconnected` for 1 s, or `failed`) restarts ICE, keeping the session, the
   * participant and its tracks (`iceRestarting`, then `iceRestarted`); not connected again this long after its first
   * restart (default 10 000 ms), the SDK joins again (`reconnecting`).
   */
  iceRestartTimeoutMs?: number;
  /** More signaling URLs to try in turn when joining again (other nodes, or a load balancer): the first is connect()'s. */
  urls?: readonly string[];
}

/** Which source each published track is announced as. */
export type PublishSources =
  /** Parallel to the track list (a MediaStream's tracks in `getTracks()` order). */
  | TrackSourceName[]
  /** By kind. */
  | { audio?: TrackSourceName; video?: TrackSourceName };

export interface PublishOptions {
  /** Default: `camera` for video, `microphone` for audio. */
  sources?: PublishSources;
  /** Cameras of 360p and up are sent as simulcast layers (docs/BANDWIDTH.md) unless this is false. */
  simulcast?: boolean;
}

/** How a received video track is shown (docs/PROTOCOL.md, "Adaptive stream"). */
export interface TrackSettings {
  enabled?: boolean;
  width?: number;
  height?: number;
  quality?: 'low' | 'medium' | 'high';
}

/** A received video track's layer (0 lowest, -1 while paused) and paused state. */
export interface TrackState {
  paused: boolean;
  layer: number;
  /** Only while the frame rate is cut for bandwidth: the highest VP8 temporal layer sent (0: the base rate). */
  maxTemporalLayer?: number;
}

export interface DisconnectedEvent {
  /** WebSocket close code (docs/PROTOCOL.md, "Close codes"), e.g. 1000 after leave, 4004 when replaced. */
  code: number;
  /** The server's `leave` reason when it sent one, else the close frame's reason. */
  reason: string;
}

export interface IceRestartingEvent {
  /** The connection restarting: `publisher` (upstream) or `subscriber` (downstream and data). */
  peer: PeerTargetName;
  /** What the browser reported: `disconnected` (for 1 s) or `failed`. */
  reason: 'disconnected' | 'failed';
}

export interface IceRestartedEvent {
  peer: PeerTargetName;
  /** From the moment the connection was seen cut to connected again. */
  outageMs: number;
  /** ICE restarts it took. */
  restarts: number;
}

export interface RoomErrorEvent {
  /** A server code (`PERMISSION_DENIED`, ...) or a `ClientErrorCode` (`CLIENT_...`). */
  code: string;
  message: string;
  requestType?: string;
}

export type DataEvent = DataMessage;

export interface RoomEvents {
  participantJoined: [participant: RemoteParticipant];
  participantLeft: [participant: RemoteParticipant, reason: string];
  trackPublished: [info: RemoteTrackInfo, participant: RemoteParticipant];
  trackUnpublished: [info: RemoteTrackInfo, participant: RemoteParticipant];
  trackSubscribed: [info: RemoteTrackInfo, track: MediaStreamTrack, stream: MediaStream];
  trackUnsubscribed: [info: RemoteTrackInfo, track: MediaStreamTrack];
  data: [message: DataEvent];
  disconnected: [event: DisconnectedEvent];
  /** The session was lost and the SDK is joining again; calls that need it throw until `reconnected`. */
  reconnecting: [event: DisconnectedEvent];
  /** Joined again, and what was published is published again. */
  reconnected: [];
  /**
   * A media connection was cut and restarts ICE (docs/PROTOCOL.md, "ICE restart"): its media stops meanwhile, the
   * session, the participants and the tracks stay. Followed by `iceRestarted`, or by `reconnecting` when restarts
   * do not bring it back within `iceRestartTimeoutMs`.
   */
  iceRestarting: [event: IceRestartingEvent];
  /** The connection is back after ICE restarts, with the same participant and the same tracks. */
  iceRestarted: [event: IceRestartedEvent];
  error: [event: RoomErrorEvent];
  /** Round-trip time the server measured on the signaling socket. */
  rtt: [rttMs: number];
  /** A received video track's layer or paused state changed (bandwidth, or this client's track settings). */
  trackState: [trackId: string, state: TrackState];
  /**
   * A participant's connection quality changed (this client's own identity included), judged every 2 s from the
   * connections' stats (docs/BANDWIDTH.md, "Connection quality"). Not sent for a participant that leaves.
   */
  connectionQualityChanged: [identity: string, quality: ConnectionQuality];
  /**
   * Who speaks now changed: the speakers loudest first (this client too, `isLocal`), empty when nobody speaks. From the
   * audio levels publishers send; at most 4 times a second (docs/PROTOCOL.md, "Active speakers"). Also `room.activeSpeakers`.
   */
  activeSpeakersChanged: [speakers: ActiveSpeaker[]];
  /** Another participant's name, metadata or permissions changed (docs/PROTOCOL.md, "Moderation"). */
  participantUpdated: [participant: RemoteParticipant];
  /** This client's own permissions, metadata or name changed (a moderator, or its own setMetadata/setName): `room.localParticipant`. */
  localParticipantUpdated: [info: ParticipantInfo];
  /** Another participant's track was muted or unmuted on the server; `by`: the moderator, absent when its owner did it. */
  trackMuted: [info: RemoteTrackInfo, participant: RemoteParticipant, muted: boolean, by?: string];
  /** One of this client's tracks was muted or unmuted on the server; muted by a moderator (`by`), the SDK has disabled it. */
  localTrackMuted: [trackId: string, muted: boolean, by?: string];
  /** A moderator asks this client to unmute a track; the app decides (`localTrack.unmute()`). */
  unmuteRequested: [trackId: string, by: string];
  /** The server stopped publishing one of this client's tracks (`permission`: a moderator took the right away); the SDK stopped sending it. */
  localTrackUnpublished: [trackId: string, reason: string];
  /** The room's metadata changed (room service API); also `room.metadata`. */
  roomUpdated: [metadata: string];
}

export type { ActiveSpeaker, ConnectionQuality, LocalTrack };
