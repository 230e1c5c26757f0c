// TURN server configuration: one typed object, defaults here, strict validation that names any
// unknown or mistyped key (CONVENTIONS.md: "reject unknown keys with a message that names the key").
import { isIP } from 'node:net';
import { parseIp } from './ip.js';
import { parseCidr } from './peer-filter.js';

export interface TurnTlsConfig {
  /** PEM text, or a path to a PEM file. */
  readonly cert: string;
  readonly key: string;
  /** TLS listening port (0 = ephemeral). */
  readonly port: number;
}

export interface TurnRateLimit {
  readonly perSecond: number;
  readonly burst: number;
}

export interface TurnConfig {
  /** Address the UDP/TCP/TLS listeners bind. */
  readonly listenAddress: string;
  /** UDP listening port (0 = ephemeral; -1 = no UDP listener). */
  readonly udpPort: number;
  /** TCP listening port (0 = ephemeral; -1 = no TCP listener). */
  readonly tcpPort: number;
  readonly tls?: TurnTlsConfig;
  /**
   * Threads serving the UDP listener and its relays (SO_REUSEPORT): 0 = one per CPU
   * (os.availableParallelism()); 1 = the main thread only. TCP/TLS always run on the main thread.
   */
  readonly threads: number;
  /** Address relay sockets bind (0.0.0.0 or :: binds every address; then relayAnnouncedAddress is required). */
  readonly relayAddress: string;
  /**
   * Address XOR-RELAYED-ADDRESS advertises when relays sit behind a 1:1 NAT, e.g. a cloud VM's
   * public IP for a private relayAddress (coturn's external-ip). Same family; relayAddress when absent.
   */
  readonly relayAnnouncedAddress?: string;
  /** Inclusive relay port range [min, max]. */
  readonly relayPortRange: readonly [number, number];
  readonly realm: string;
  /** Shared secret for TURN REST API credentials (coturn `use-auth-secret`). */
  readonly authSecret?: string;
  /** Static long-term users: username -> password. */
  readonly users: Readonly<Record<string, string>>;
  readonly nonceLifetimeSeconds: number;
  readonly defaultAllocationLifetimeSeconds: number;
  readonly maxAllocationLifetimeSeconds: number;
  /** Peer CIDRs opened despite the built-in deny list (e.g. 127.0.0.1/32 for tests). */
  readonly allowedPeerCidrs: readonly string[];
  /** Peer CIDRs always refused; overrides allowedPeerCidrs. */
  readonly deniedPeerCidrs: readonly string[];
  readonly maxAllocationsPerUser: number;
  readonly maxAllocationsTotal: number;
  /** Peer IPs with a permission, per allocation (RFC 8656 §10.2: 508 past it). */
  readonly maxPermissionsPerAllocation: number;
  /** Channel bindings per allocation, in their 5-minute quarantine included (RFC 8656 §12.2: 508 past it). */
  readonly maxChannelsPerAllocation: number;
  /** Relayed bytes per second per allocation, both directions together (0 = unlimited). */
  readonly bandwidthBytesPerSecond: number;
  /** Requests without valid credentials, per source IP (perSecond 0 = unlimited). */
  readonly unauthenticatedRateLimit: TurnRateLimit;
  /** SOFTWARE attribute value. */
  readonly software: string;
}

export const defaultTurnConfig: TurnConfig = {
  listenAddress: '127.0.0.1',
  udpPort: 3478,
  tcpPort: 3478,
  threads: 0,
  relayAddress: '127.0.0.1',
  relayPortRange: [49152, 65535],
  realm: 'tsfu',
  users: {},
  nonceLifetimeSeconds: 600,
  defaultAllocationLifetimeSeconds: 600,
  maxAllocationLifetimeSeconds: 3600,
  allowedPeerCidrs: [],
  deniedPeerCidrs: [],
  maxAllocationsPerUser: 100,
  maxAllocationsTotal: 10_000,
  maxPermissionsPerAllocation: 64,
  maxChannelsPerAllocation: 64,
  bandwidthBytesPerSecond: 1_250_000,
  unauthenticatedRateLimit: { perSecond: 200, burst: 1000 },
  software: 'tsfu-turn',
};

type Check = (value: unknown, key: string) => void;

const fail = (key: string, what: string): never => {
  throw new Error(`turn config: "${key}" ${what}`);
};
const int =
  (min: number, max: number): Check =>
  (v, k) => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) fail(k, `must be an integer in [${min}, ${max}]`);
  };
const str: Check = (v, k) => {
  if (typeof v !== 'string' || v.length === 0) fail(k, 'must be a non-empty string');
};
const ip: Check = (v, k) => {
  if (typeof v !== 'string' || isIP(v) === 0) fail(k, 'must be an IP address');
};
const cidrs: Check = (v, k) => {
  if (!Array.isArray(v)) return fail(k, 'must be an array of CIDR strings');
  v.forEach((c, i) => {
    if (typeof c !== 'string' || !parseCidr(c)) fail(`${k}[${i}]`, 'is not a valid CIDR');
  });
};
const object =
  (fields: Record<string, Check>): Check =>
  (v, k) => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return fail(k, 'must be an object');
    for (const [name, value] of Object.entries(v)) {
      const check = fields[name];
      if (!check) fail(`${k}.${name}`, 'is not a known key');
      check(value, `${k}.${name}`);
    }
    for (const name of Object.keys(fields)) if (!(name in v)) fail(`${k}.${name}`, 'is required');
  };

const checks: Record<keyof TurnConfig, Check> = {
  listenAddress: ip,
  udpPort: int(-1, 65535),
  tcpPort: int(-1, 65535),
  tls: object({ cert: str, key: str, port: int(0, 65535) }),
  threads: int(0, 256),
  relayAddress: ip,
  relayAnnouncedAddress: ip,
  relayPortRange: (v, k) => {
    if (!Array.isArray(v) || v.length !== 2) return fail(k, 'must be [min, max]');
    int(1, 65535)(v[0], `${k}[0]`);
    int(1, 65535)(v[1], `${k}[1]`);
    if ((v[0] as number) > (v[1] as number)) fail(k, 'min must not exceed max');
  },
  realm: str,
  authSecret: str,
  users: (v, k) => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return fail(k, 'must be an object of username: password');
    for (const [u, p] of Object.entries(v)) if (typeof p !== 'string') fail(`${k}.${u}`, 'must be a string password');
  },
  nonceLifetimeSeconds: int(1, 86_400),
  defaultAllocationLifetimeSeconds: int(1, 86_400),
  maxAllocationLifetimeSeconds: int(1, 86_400),
  allowedPeerCidrs: cidrs,
  deniedPeerCidrs: cidrs,
  maxAllocationsPerUser: int(0, 1_000_000),
  maxAllocationsTotal: int(0, 1_000_000),
  maxPermissionsPerAllocation: int(1, 65_535),
  // Channel numbers 0x4000-0x7FFF (channel.ts): no more bindings than numbers.
  maxChannelsPerAllocation: int(1, 0x4000),
  bandwidthBytesPerSecond: int(0, Number.MAX_SAFE_INTEGER),
  unauthenticatedRateLimit: object({ perSecond: int(0, 1_000_000), burst: int(1, 10_000_000) }),
  software: (v, k) => {
    if (typeof v !== 'string' || Buffer.byteLength(v) > 763) fail(k, 'must be a string of at most 763 bytes');
  },
};

const isUnspecified = (address: string): boolean => parseIp(address)?.every((b) => b === 0) ?? false;

/** Merges `partial` over the defaults; throws naming the first unknown or invalid key. */
export function validateTurnConfig(partial: unknown): TurnConfig {
  if (typeof partial !== 'object' || partial === null || Array.isArray(partial)) {
    throw new Error('turn config: must be an object');
  }
  for (const [key, value] of Object.entries(partial)) {
    const check = (checks as Record<string, Check | undefined>)[key];
    if (!check) fail(key, 'is not a known key');
    if (value !== undefined) check!(value, key);
  }
  const config = { ...defaultTurnConfig, ...(partial as Partial<TurnConfig>) };
  const announced = config.relayAnnouncedAddress;
  if (announced === undefined && isUnspecified(config.relayAddress)) {
    fail('relayAddress', `${config.relayAddress} cannot be advertised to clients: set relayAnnouncedAddress too`);
  }
  if (announced !== undefined && (isUnspecified(announced) || isIP(announced) !== isIP(config.relayAddress))) {
    fail('relayAnnouncedAddress', `must be a specific address of the same family as relayAddress (${config.relayAddress})`);
  }
  if (config.maxAllocationLifetimeSeconds < config.defaultAllocationLifetimeSeconds) {
    fail('maxAllocationLifetimeSeconds', 'must be at least defaultAllocationLifetimeSeconds');
  }
  return config;
}
