import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { mintTurnCredentials, startTurnServer, validateTurnConfig, type TurnServer } from '../turn/index.js';
import type { IceServerInfo } from '../signaling/index.js';
import { ConfigError, type Config } from './config.js';

export interface TurnService {
  server: TurnServer;
  /** ICE servers for a join reply: this node's turn:/turns: URLs with fresh time-limited credentials. */
  iceServersFor(identity: string): IceServerInfo[];
}

/** Starts the embedded TURN server from the config (its own section validated by turn/ itself). */
export async function startTurnService(config: Config['turn'], logger: Logger, registry: Registry): Promise<TurnService> {
  const options = { ...config.server };
  // Time-limited credentials need a shared secret; a single node can make its own for the process lifetime.
  if (options.authSecret === undefined) options.authSecret = randomBytes(32).toString('base64url');
  // Behind a 1:1 NAT the relays are reached at the same public address as the listener.
  if (options.relayAnnouncedAddress === undefined && isIP(config.announcedIp) !== 0) options.relayAnnouncedAddress = config.announcedIp;
  let turnConfig;
  try {
    turnConfig = validateTurnConfig(options);
  } catch (error) {
    throw new ConfigError(`turn.server: ${(error as Error).message}`);
  }
  const server = await startTurnServer(turnConfig, { logger, registry });
  const secret = turnConfig.authSecret!;
  const host = config.announcedIp || turnConfig.listenAddress;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  const { udp, tcp, tls } = server.addresses;
  const urls = [
    ...(udp ? [`turn:${urlHost}:${udp.port}?transport=udp`] : []),
    ...(tcp ? [`turn:${urlHost}:${tcp.port}?transport=tcp`] : []),
    ...(tls ? [`turns:${urlHost}:${tls.port}?transport=tcp`] : []),
  ];
  logger.info({ urls, realm: turnConfig.realm }, 'TURN server listening');
  return {
    server,
    iceServersFor(identity) {
      if (urls.length === 0) return [];
      const { username, credential } = mintTurnCredentials({ secret, identity, ttlSeconds: config.credentialTtlSeconds, now: Date.now() });
      return [{ urls, username, credential }];
    },
  };
}
