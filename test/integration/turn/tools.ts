// Helpers for TURN integration tests: loopback-only server config, free ports, coturn's client
// tools as child processes (killed by PID), and parsing of turnutils_uclient's statistics.
import { spawn, type ChildProcess } from 'node:child_process';
import { freeUdpPort } from '../../../bench/turn/util.js';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { startTurnServer, validateTurnConfig, type TurnConfig, type TurnServer } from '../../../turn/index.js';
import { formatIpv6 } from '../../../turn/ip.js';

/** IPv6 peers other than ::1: per bit of ::1, the prefix that matches it up to that bit and differs at it. */
const EVERY_IPV6_BUT_LOOPBACK = Array.from({ length: 128 }, (_, i) => {
  const bytes = new Uint8Array(16);
  bytes[15] = 1;
  bytes[i >> 3] ^= 0x80 >> (i & 7);
  for (let bit = i + 1; bit < 128; bit++) bytes[bit >> 3] &= ~(0x80 >> (bit & 7));
  return `${formatIpv6(bytes)}/${i + 1}`;
});

/**
 * Every IPv4 range except 127.0.0.0/8, and every IPv6 address except ::1: with allowedPeerCidrs
 * 127.0.0.1/32 (or ::1/128) the only peer a test can relay to is loopback, whatever a fuzzer puts
 * in XOR-PEER-ADDRESS.
 */
export const EVERYTHING_BUT_LOOPBACK = [
  '0.0.0.0/2', '64.0.0.0/3', '96.0.0.0/4', '112.0.0.0/5', '120.0.0.0/6', '124.0.0.0/7', '126.0.0.0/8', '128.0.0.0/1',
  ...EVERY_IPV6_BUT_LOOPBACK,
];

export const USERS = { alice: 'alice-secret' };
export const AUTH_SECRET = 'shared-rest-secret';
export const REALM = 'tsfu.test';

export function loopbackConfig(overrides: Partial<TurnConfig> = {}): TurnConfig {
  return validateTurnConfig({
    udpPort: 0,
    tcpPort: 0,
    relayPortRange: [40000, 48999],
    realm: REALM,
    users: USERS,
    authSecret: AUTH_SECRET,
    allowedPeerCidrs: ['127.0.0.1/32'],
    deniedPeerCidrs: EVERYTHING_BUT_LOOPBACK,
    ...overrides,
  });
}

export async function startLoopbackServer(overrides: Partial<TurnConfig> = {}): Promise<TurnServer> {
  return startTurnServer(loopbackConfig(overrides), { logger: pino({ level: 'silent' }), registry: new Registry() });
}

/** A UDP port that was free a moment ago (bind to 0, read, release); shared with the benchmark. */
export { freeUdpPort };

const children = new Set<ChildProcess>();

/** Starts turnutils_peer (UDP echo) on 127.0.0.1 at a free port. */
export async function startPeer(): Promise<{ port: number; child: ChildProcess }> {
  const port = await freeUdpPort();
  const child = spawn('turnutils_peer', ['-L', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
  children.add(child);
  child.once('exit', () => children.delete(child));
  await new Promise((r) => setTimeout(r, 300));
  return { port, child };
}

/** Kills every child this module started, by PID. */
export function killChildren(): void {
  for (const c of children) if (c.pid !== undefined && c.exitCode === null) process.kill(c.pid, 'SIGKILL');
  children.clear();
}

export interface RunResult {
  readonly code: number | null;
  readonly output: string;
}

/** Runs a tool to completion (bounded by timeoutMs, then SIGKILL) and returns its output. */
export function run(cmd: string, args: string[], timeoutMs = 30_000): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    let output = '';
    child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => child.pid !== undefined && process.kill(child.pid, 'SIGKILL'), timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      children.delete(child);
      resolve({ code, output });
    });
  });
}

export interface UclientStats {
  readonly sent: number;
  readonly received: number;
  readonly lost: number;
  readonly lostPct: number;
  readonly rttMs: number;
}

/** Parses the summary lines uclient prints at the end of a run. */
export function parseUclient(output: string): UclientStats | null {
  const totals = [...output.matchAll(/tot_send_msgs=(\d+), tot_recv_msgs=(\d+)\s*$/gm)].pop();
  const lost = /Total lost packets (\d+) \(([\d.]+)%\)/.exec(output);
  const rtt = /Average round trip delay ([\d.]+) ms/.exec(output);
  if (!totals || !lost) return null;
  return {
    sent: Number(totals[1]),
    received: Number(totals[2]),
    lost: Number(lost[1]),
    lostPct: Number(lost[2]),
    rttMs: rtt ? Number(rtt[1]) : NaN,
  };
}
