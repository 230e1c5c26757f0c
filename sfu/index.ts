/** The SFU's public surface; the server composes it, nothing else reaches inside. */
export { Sfu, type SfuDeps, type SfuDump } from './sfu.js';
export { Room, type RoomEvents, type JoinOptions } from './session/room.js';
export { Participant, type ParticipantEvents, type PublishAnswer } from './session/participant.js';
export { defaultSfuOptions, type SfuOptions } from './sfu-options.js';
export { InvalidStateError, InvalidSdpError, PermissionError, NotFoundError } from './errors.js';
export type { SubscriberOffer } from './peer/subscriber-peer.js';
export * from './sfu-types.js';
