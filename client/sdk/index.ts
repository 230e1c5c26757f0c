/** tsfu browser SDK: `Room.connect(url, token)`, then publish, subscribe (automatic, or `room.subscribe()` with `autoSubscribe: false`) and send data. */
export { Room } from './room.js';
export { PROTOCOL_VERSION } from './join.js';
export { RemoteParticipant, type RemoteTrackInfo } from './participant.js';
export { AdaptiveVideo, ADAPTIVE_VIDEO_DEBOUNCE_MS, type AdaptiveVideoSettings } from './adaptive-video.js';
export type { LocalTrack } from './publisher.js';
export type { DataMessage, SendDataOptions } from './data-channels.js';
export type {
  ActiveSpeaker,
  ConnectionQuality,
  DataEvent,
  DisconnectedEvent,
  IceRestartedEvent,
  IceRestartingEvent,
  PublishOptions,
  PublishSources,
  RoomErrorEvent,
  RoomEvents,
  RoomOptions,
  TrackSettings,
  TrackState,
} from './room-types.js';
export { TypedEmitter } from './emitter.js';
export { ClientErrorCode, InvalidStateError, PermissionDeniedError, RequestError, TrackNotFoundError } from './errors.js';
export { decodeTokenClaims, type TokenClaims } from './token.js';
export type { TrackInfo, TrackSourceName } from '../../signaling/messages.js';
