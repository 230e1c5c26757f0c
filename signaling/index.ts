/** Signaling's public surface, for the server composition root. */
export { SignalingService, type SignalingServiceDeps } from './signaling-service.js';
export { signalingRoutes, SIGNALING_PATH } from './plugin.js';
export { defaultSignalingOptions, type SignalingOptions } from './signaling-options.js';
export { mintToken, TokenVerifier, type SigningKeys, type TokenClaims, type MintTokenOptions } from './tokens.js';
export { PROTOCOL_VERSION, TRACK_SOURCES, type ServerMessage, type ClientMessage, type IceServerInfo } from './messages.js';
export { CloseCode, ErrorCode } from './errors.js';
export type { SfuPort } from './sfu-port.js';
export { RoomAdministration, type ParticipantUpdate } from './room-admin.js';
export type { ParticipantInfo, TrackInfo, ParticipantPermissions, PermissionsUpdate } from './messages.js';
export type { RoomDirectoryPort, RoomLocation } from './room-directory-port.js';
export { SignalingError } from './errors.js';
export type { RoomSettings, RoomSettingsPort } from './room-settings-port.js';
