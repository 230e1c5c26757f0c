// Public surface of the TURN server. turn/ imports nothing from server/, sfu/, signaling/, client/.
export { defaultTurnConfig, validateTurnConfig } from './config.js';
export type { TurnConfig, TurnTlsConfig, TurnRateLimit } from './config.js';
export { startTurnServer, udpThreadCount } from './server.js';
export type { TurnServer, TurnServerDeps, TurnServerStats, BoundAddress, Clock } from './server.js';
export { mintTurnCredentials } from './credentials.js';
export type { MintOptions, TurnCredentials } from './credentials.js';
export { TurnCore } from './core.js';
export type { TurnCoreOptions, TurnAction, TurnObserver, RelayDecision } from './core.js';
