/** The room service API (docs/API.md): its routes, the room registry, and the API token helpers. */
export { roomApiRoutes, API_PREFIX, type RoomApiOptions } from './routes.js';
export { RoomRegistry, type RoomRecord } from './room-registry.js';
export { LocalRooms, type LocalRoomsDeps } from './local-rooms.js';
export { RoomRouter, httpOrigin } from './room-router.js';
export { bindRoomRegistry, releaseExpiredRoom } from './room-lifecycle.js';
export { API_AUDIENCE, MAX_API_TOKEN_TTL_SECONDS, mintApiToken, verifyApiToken, type ApiGrants, type ApiClaims } from './api-token.js';
export type { RoomAdministrationPort, ParticipantUpdate } from './room-admin-port.js';
export type { RoomInfo } from './schemas.js';
export { RoomServiceClient, RoomServiceError, type CreateRoomOptions, type SendDataOptions } from './room-service-client.js';
