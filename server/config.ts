import { readFileSync } from 'node:fs';
import { BlockList, isIP } from 'node:net';
import { Type, type Static } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { defaultRedisClusterOptions } from '../cluster/index.js';
import { defaultSfuOptions } from '../sfu/index.js';
import { defaultSignalingOptions } from '../signaling/index.js';
import { defaultWebhookOptions } from '../webhooks/index.js';

const Port = Type.Integer({ minimum: 0, maximum: 65535 });
const Positive = Type.Integer({ minimum: 1 });
const strict = { additionalProperties: false } as const;

/** The whole configuration. Unknown keys anywhere are rejected by name. */
export const ConfigSchema = Type.Object(
  {
    http: Type.Object({ host: Type.String({ minLength: 1 }), port: Port }, strict),
    rtc: Type.Object(
      {
        listenIp: Type.String({ minLength: 1 }),
        announcedIp: Type.String(),
        portMin: Port,
        portMax: Port,
        /** -1: each peer connection binds a port of portMin..portMax; else one port for all (0: the OS picks it). */
        udpPort: Type.Integer({ minimum: -1, maximum: 65535 }),
        /** -1: no ICE-TCP; else ICE-TCP passive candidates of every peer connection on this port (needs udpPort). */
        tcpPort: Type.Integer({ minimum: -1, maximum: 65535 }),
        maxDataMessageBytes: Positive,
        pliMinIntervalMs: Positive,
        packetCacheSize: Positive,
        dataMessagesPerSecond: Positive,
        dataMessageBurst: Positive,
        dataBytesPerSecond: Positive,
        dataBytesBurst: Positive,
        dataLossyMaxBufferedBytes: Positive,
        dataReliableHighWaterBytes: Positive,
        dataStallTimeoutMs: Positive,
        maxTracksPerParticipant: Positive,
        maxSubscriptionsPerParticipant: Positive,
        subscriberAnswerTimeoutMs: Positive,
        connectTimeoutMs: Positive,
        iceRestartBurst: Positive,
        iceRestartIntervalMs: Positive,
        negotiationDelayMs: Type.Integer({ minimum: 0 }),
        bandwidthAllocation: Type.Boolean(),
        dynacast: Type.Boolean(),
      },
      strict,
    ),
    auth: Type.Object(
      {
        /** kid → HS256 secret (at least 32 characters). Empty = development mode. */
        keys: Type.Record(Type.String({ minLength: 1 }), Type.String({ minLength: 32 })),
        /**
         * Development mode serves a full-grant token to anyone (GET /dev/token), so it refuses to start
         * when http.host is not a loopback address, unless this says the operator wants exactly that.
         * Optional (false when absent), so configs built in code need not name it.
         */
        allowDevelopmentModeOnNetwork: Type.Optional(Type.Boolean()),
      },
      strict,
    ),
    signaling: Type.Object(
      {
        maxMessageBytes: Positive,
        messagesPerSecond: Positive,
        messageBurst: Positive,
        maxQueuedMessages: Positive,
        connectionsPerIpPerSecond: Positive,
        connectionBurstPerIp: Positive,
        maxParticipantsPerRoom: Positive,
        joinTimeoutMs: Positive,
        heartbeatIntervalMs: Positive,
        heartbeatTimeoutMs: Positive,
        tokenClockToleranceSeconds: Type.Integer({ minimum: 0 }),
        resumeGraceMs: Type.Integer({ minimum: 0, maximum: 300_000 }),
      },
      strict,
    ),
    turn: Type.Object(
      {
        /** Start the embedded STUN/TURN server and hand out its credentials in join replies. */
        enabled: Type.Boolean(),
        /** Address put in the turn: URLs (the TURN listen address when empty), and, when an IP, the relays' advertised address. */
        announcedIp: Type.String(),
        /** Lifetime of the time-limited credentials in a join reply. */
        credentialTtlSeconds: Positive,
        /** The TURN server's own options (turn/config.ts), validated by it; authSecret is generated when absent. */
        server: Type.Record(Type.String(), Type.Unknown()),
      },
      strict,
    ),
    iceServers: Type.Array(
      Type.Object({ urls: Type.Array(Type.String(), { minItems: 1 }), username: Type.Optional(Type.String()), credential: Type.Optional(Type.String()) }, strict),
    ),
    cluster: Type.Object(
      {
        /** Redis coordinating the nodes, e.g. redis://10.0.0.2:6379; empty: a single node, no Redis. */
        redisUrl: Type.String(),
        /** This node's id in the cluster; generated at start when empty. */
        nodeId: Type.String(),
        /** The signaling URL other nodes send this room's clients to; derived from http.host/port when empty. */
        signalingUrl: Type.String(),
        /** Participants this node accepts in all, for placement (0: no limit). */
        maxParticipants: Type.Integer({ minimum: 0 }),
        keyPrefix: Type.String({ minLength: 1 }),
        heartbeatMs: Positive,
        nodeTtlMs: Positive,
        leaseTtlMs: Positive,
        leaseRenewMs: Positive,
        commandTimeoutMs: Positive,
      },
      strict,
    ),
    /** Signed HTTP POSTs of room, participant and track events (docs/WEBHOOKS.md). */
    webhooks: Type.Object(
      {
        /** Receivers (http or https); empty: webhooks off. */
        urls: Type.Array(Type.String({ minLength: 1 })),
        /** The auth.keys kid whose secret signs the bodies; required when urls is not empty. */
        apiKey: Type.String(),
        timeoutMs: Positive,
        maxQueue: Positive,
        maxAttempts: Positive,
        backoffInitialMs: Positive,
        backoffMaxMs: Positive,
        shutdownTimeoutMs: Type.Integer({ minimum: 0 }),
      },
      strict,
    ),
    /** SIGTERM: the node takes no new room and keeps its rooms up to drainMs (0: none), then closes within graceMs. */
    shutdown: Type.Object({ graceMs: Positive, drainMs: Type.Integer({ minimum: 0 }) }, strict),
    log: Type.Object(
      { level: Type.Union(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l))) },
      strict,
    ),
  },
  strict,
);
export type Config = Static<typeof ConfigSchema>;

export type DeepPartial<T> = { [K in keyof T]?: T[K] extends readonly unknown[] ? T[K] : T[K] extends object ? DeepPartial<T[K]> : T[K] };

export function defaultConfig(): Config {
  return {
    http: { host: '127.0.0.1', port: 7880 },
    rtc: { ...defaultSfuOptions },
    auth: { keys: {}, allowDevelopmentModeOnNetwork: false },
    signaling: { ...defaultSignalingOptions },
    turn: { enabled: true, announcedIp: '', credentialTtlSeconds: 3600, server: { udpPort: 3478, tcpPort: 3478, relayPortRange: [30000, 39999] } },
    iceServers: [],
    cluster: { redisUrl: '', nodeId: '', signalingUrl: '', maxParticipants: 0, ...defaultRedisClusterOptions },
    webhooks: { ...defaultWebhookOptions, urls: [] },
    shutdown: { graceMs: 10_000, drainMs: 0 },
    log: { level: 'info' },
  };
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

const checker = TypeCompiler.Compile(ConfigSchema);

/** Environment variables and the config path each maps to; values are parsed as JSON when they look like it. */
export const ENV_KEYS: Record<string, string> = {
  TSFU_HTTP_HOST: 'http.host',
  TSFU_HTTP_PORT: 'http.port',
  TSFU_RTC_LISTEN_IP: 'rtc.listenIp',
  TSFU_RTC_ANNOUNCED_IP: 'rtc.announcedIp',
  TSFU_RTC_PORT_MIN: 'rtc.portMin',
  TSFU_RTC_PORT_MAX: 'rtc.portMax',
  TSFU_RTC_UDP_PORT: 'rtc.udpPort',
  TSFU_RTC_TCP_PORT: 'rtc.tcpPort',
  TSFU_AUTH_KEYS: 'auth.keys',
  TSFU_ALLOW_DEV_MODE_ON_NETWORK: 'auth.allowDevelopmentModeOnNetwork',
  TSFU_LOG_LEVEL: 'log.level',
  TSFU_SHUTDOWN_GRACE_MS: 'shutdown.graceMs',
  TSFU_SHUTDOWN_DRAIN_MS: 'shutdown.drainMs',
  TSFU_REDIS_URL: 'cluster.redisUrl',
  TSFU_NODE_ID: 'cluster.nodeId',
  TSFU_SIGNALING_URL: 'cluster.signalingUrl',
  TSFU_MAX_PARTICIPANTS: 'cluster.maxParticipants',
  TSFU_WEBHOOK_URLS: 'webhooks.urls',
  TSFU_WEBHOOK_API_KEY: 'webhooks.apiKey',
  TSFU_TURN_ENABLED: 'turn.enabled',
  TSFU_TURN_ANNOUNCED_IP: 'turn.announcedIp',
  TSFU_TURN_AUTH_SECRET: 'turn.server.authSecret',
  TSFU_TURN_LISTEN_IP: 'turn.server.listenAddress',
  TSFU_TURN_RELAY_IP: 'turn.server.relayAddress',
  TSFU_TURN_RELAY_ANNOUNCED_IP: 'turn.server.relayAnnouncedAddress',
};

/** How a map whose keys are not ours is merged (no unknown-key check here): replaced whole, or key by key. */
const OPEN_MAPS: Record<string, 'replace' | 'shallow'> = {
  'auth.keys': 'replace',
  // Checked key by key by the TURN server's own validation at start-up.
  'turn.server': 'shallow',
};

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function merge(base: Record<string, unknown>, override: Record<string, unknown>, path = ''): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(override)) {
    if (value === undefined) continue;
    const here = path ? `${path}.${key}` : key;
    if (!(key in base)) throw new ConfigError(`unknown configuration key "${here}"`);
    const current = base[key];
    if (!isObject(current) || !isObject(value) || OPEN_MAPS[here] === 'replace') out[key] = value;
    else if (OPEN_MAPS[here] === 'shallow') out[key] = { ...current, ...value };
    else out[key] = merge(current, value, here);
  }
  return out;
}

function parseEnvValue(name: string, raw: string): unknown {
  if (name === 'TSFU_AUTH_KEYS') {
    // "kid1:secret1,kid2:secret2"
    const keys: Record<string, string> = {};
    for (const pair of raw.split(',').filter(Boolean)) {
      const at = pair.indexOf(':');
      if (at <= 0) throw new ConfigError(`${name}: expected "kid:secret[,kid:secret]"`);
      keys[pair.slice(0, at)] = pair.slice(at + 1);
    }
    return keys;
  }
  if (name === 'TSFU_WEBHOOK_URLS') return raw.split(',').map((url) => url.trim()).filter(Boolean);
  if (raw === 'true' || raw === 'false') return raw === 'true';
  return /^-?\d+$/.test(raw) ? Number(raw) : raw;
}

function fromEnv(env: NodeJS.ProcessEnv): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, raw] of Object.entries(env)) {
    if (!name.startsWith('TSFU_') || name === 'TSFU_CONFIG' || raw === undefined) continue;
    const path = ENV_KEYS[name];
    if (!path) throw new ConfigError(`unknown environment variable ${name}; known: ${Object.keys(ENV_KEYS).join(', ')}, TSFU_CONFIG`);
    let target = out;
    const keys = path.split('.');
    for (const key of keys.slice(0, -1)) target = (target[key] ??= {}) as Record<string, unknown>;
    target[keys.at(-1)!] = parseEnvValue(name, raw);
  }
  return out;
}

/** Defaults, then the file, then the environment, then the overrides; validated as a whole. */
export function loadConfig(options: { file?: string; env?: NodeJS.ProcessEnv; overrides?: DeepPartial<Config> } = {}): Config {
  let config = defaultConfig() as unknown as Record<string, unknown>;
  const file = options.file ?? options.env?.TSFU_CONFIG;
  if (file) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(file, 'utf8'));
    } catch (error) {
      throw new ConfigError(`cannot read config file ${file}: ${(error as Error).message}`);
    }
    if (!isObject(parsed)) throw new ConfigError(`config file ${file} must hold a JSON object`);
    config = merge(config, parsed);
  }
  if (options.env) config = merge(config, fromEnv(options.env));
  if (options.overrides) config = merge(config, options.overrides as Record<string, unknown>);
  return validateConfig(config);
}

export function validateConfig(value: unknown): Config {
  if (!checker.Check(value)) {
    const first = checker.Errors(value).First();
    throw new ConfigError(`invalid configuration at ${first?.path || '/'}: ${first?.message}`);
  }
  const config = value as Config;
  if (config.rtc.portMin >= config.rtc.portMax) throw new ConfigError('rtc.portMin must be below rtc.portMax');
  if (config.rtc.tcpPort >= 0 && config.rtc.udpPort < 0) throw new ConfigError('rtc.tcpPort needs rtc.udpPort: ICE-TCP is routed by the ufrags of the shared UDP port');
  if (config.signaling.heartbeatTimeoutMs <= config.signaling.heartbeatIntervalMs) {
    throw new ConfigError('signaling.heartbeatTimeoutMs must be longer than signaling.heartbeatIntervalMs');
  }
  const cluster = config.cluster;
  if (cluster.nodeTtlMs < 2 * cluster.heartbeatMs) throw new ConfigError('cluster.nodeTtlMs must be at least twice cluster.heartbeatMs (one lost heartbeat must not kill a node)');
  if (cluster.leaseTtlMs < 2 * cluster.leaseRenewMs) throw new ConfigError('cluster.leaseTtlMs must be at least twice cluster.leaseRenewMs');
  if ((config.rtc.packetCacheSize & (config.rtc.packetCacheSize - 1)) !== 0) throw new ConfigError('rtc.packetCacheSize must be a power of two');
  // Whole messages are counted (envelope and header too): a burst below the payload limit would refuse the largest messages for ever.
  if (config.rtc.dataBytesBurst < config.rtc.maxDataMessageBytes + 4100) throw new ConfigError('rtc.dataBytesBurst must be at least rtc.maxDataMessageBytes + 4100 (payload, prefix and the largest header)');
  if (cluster.redisUrl && isDevelopmentMode(config)) {
    throw new ConfigError('cluster.redisUrl is set but auth.keys is empty: every node of a cluster must verify the same tokens, so configure auth.keys (TSFU_AUTH_KEYS=kid:secret) on each');
  }
  assertDevelopmentModeAllowed(config);
  assertWebhooksValid(config);
  return config;
}

/** Webhook URLs must be http(s), and the key that signs them one of auth.keys (a receiver must be able to verify). */
export function assertWebhooksValid(config: Config): void {
  const { urls, apiKey, backoffInitialMs, backoffMaxMs } = config.webhooks;
  if (urls.length === 0) return;
  for (const url of urls) {
    let protocol: string;
    try {
      protocol = new URL(url).protocol;
    } catch {
      throw new ConfigError(`webhooks.urls: "${url}" is not a URL`);
    }
    if (protocol !== 'http:' && protocol !== 'https:') throw new ConfigError(`webhooks.urls: "${url}" must be http: or https:`);
  }
  if (!apiKey) throw new ConfigError('webhooks.urls is set but webhooks.apiKey is empty: name the auth.keys kid whose secret signs the webhooks (TSFU_WEBHOOK_API_KEY)');
  if (!Object.hasOwn(config.auth.keys, apiKey)) {
    const known = Object.keys(config.auth.keys);
    throw new ConfigError(`webhooks.apiKey "${apiKey}" is not a kid of auth.keys (${known.length ? `known: ${known.join(', ')}` : 'none configured: development mode has no key a receiver could verify with'})`);
  }
  if (backoffMaxMs < backoffInitialMs) throw new ConfigError('webhooks.backoffMaxMs must be at least webhooks.backoffInitialMs');
}

/** Development mode: no keys configured. */
export function isDevelopmentMode(config: Config): boolean {
  return Object.keys(config.auth.keys).length === 0;
}

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

/** 127.0.0.0/8, ::1 (and IPv4-mapped 127/8), or "localhost"; never 0.0.0.0, ::, another address or a host name. */
export function isLoopbackHost(host: string): boolean {
  if (host.toLowerCase() === 'localhost') return true;
  const family = isIP(host);
  return family !== 0 && LOOPBACK.check(host, family === 6 ? 'ipv6' : 'ipv4');
}

/**
 * Development mode hands anyone who can reach GET /dev/token a token with every grant for any room:
 * refuse it on an address other machines can reach unless auth.allowDevelopmentModeOnNetwork says so.
 */
export function assertDevelopmentModeAllowed(config: Config): void {
  if (!isDevelopmentMode(config) || isLoopbackHost(config.http.host) || config.auth.allowDevelopmentModeOnNetwork === true) return;
  throw new ConfigError(
    `refusing to start in development mode on http.host "${config.http.host}", which is not a loopback address: ` +
      'with no auth.keys anyone who can reach it gets a full-grant token from GET /dev/token. ' +
      'Configure auth.keys (TSFU_AUTH_KEYS=kid:secret), listen on 127.0.0.1, or set auth.allowDevelopmentModeOnNetwork ' +
      '(TSFU_ALLOW_DEV_MODE_ON_NETWORK=true) to serve development mode on the network anyway.',
  );
}
