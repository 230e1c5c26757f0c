// Interop with coturn's client tools: turnutils_uclient relays through our server to
// turnutils_peer (UDP echo) on 127.0.0.1; turnutils_stunclient gets its reflexive address.
// Run against the server on one thread and with the UDP listener sharded over two threads.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TurnServer } from '../../../turn/index.js';
import { AUTH_SECRET, USERS, killChildren, parseUclient, run, startLoopbackServer, startPeer } from './tools.js';

let peerPort: number;
const certDir = mkdtempSync(join(tmpdir(), 'turn-tls-'));

beforeAll(async () => {
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost',
    '-keyout', join(certDir, 'key.pem'), '-out', join(certDir, 'cert.pem')], { stdio: 'ignore' });
  peerPort = (await startPeer()).port;
});

afterAll(() => {
  killChildren();
  rmSync(certDir, { recursive: true, force: true });
});

/**
 * uclient binds its second peer to a fresh random channel without checking that it differs from the
 * first peer's (1 in 16,384 per client); the server must refuse that with 400 (RFC 8656 §12.2) and
 * uclient then exits. That one refusal, named in the reason phrase, earns one more run.
 */
const UCLIENT_CHANNEL_COLLISION = 'channel bind: error 400 (Bad Request: channel bound to another peer)';

/** uclient: 10 clients, 100-byte messages every 5 ms, 200 messages each. */
async function uclient(flags: string[], auth: string[], port: number): Promise<void> {
  const args = [...flags, ...auth, '-e', '127.0.0.1', '-r', String(peerPort), '-p', String(port), '-m', '10', '-n', '200', '-l', '100', '-z', '5', '127.0.0.1'];
  let { output } = await run('turnutils_uclient', args, 45_000);
  if (output.includes(UCLIENT_CHANNEL_COLLISION)) ({ output } = await run('turnutils_uclient', args, 45_000));
  const stats = parseUclient(output);
  expect(stats, output.slice(-2000)).not.toBeNull();
  expect(stats!.sent).toBeGreaterThanOrEqual(2000);
  expect(stats!.received).toBe(stats!.sent);
  expect(stats!.lost).toBe(0);
  expect(stats!.lostPct).toBe(0);
}

const staticAuth = ['-u', 'alice', '-w', USERS.alice];

describe.each([1, 2])('coturn client interop, %i UDP thread(s)', (threads) => {
  let server: TurnServer;
  beforeAll(async () => {
    server = await startLoopbackServer({ threads, tls: { cert: join(certDir, 'cert.pem'), key: join(certDir, 'key.pem'), port: 0 } });
    expect(server.stats().udpThreads).toBe(threads);
  });
  afterAll(() => server.close());

  it('turnutils_stunclient gets its reflexive address over UDP', async () => {
    const { output } = await run('turnutils_stunclient', ['-p', String(server.addresses.udp!.port), '127.0.0.1']);
    expect(output).toMatch(/UDP reflexive addr: 127\.0\.0\.1:\d+/);
  });

  it('relays over UDP with channels and static long-term credentials, zero loss', async () => {
    await uclient([], staticAuth, server.addresses.udp!.port);
  });

  it('relays over UDP with Send/Data indications (-s) and no RTCP allocation (-c), zero loss', async () => {
    await uclient(['-s', '-c'], staticAuth, server.addresses.udp!.port);
  });

  it('relays over UDP with shared-secret REST credentials (-W), zero loss', async () => {
    await uclient(['-c'], ['-W', AUTH_SECRET, '-u', 'participant-42'], server.addresses.udp!.port);
  });

  it('relays over TCP with channels (framing and padding), zero loss, and frees TCP allocations', async () => {
    await uclient(['-t'], staticAuth, server.addresses.tcp!.port);
    await new Promise((r) => setTimeout(r, 200));
    expect(server.stats().tcpConnections).toBe(0);
  });

  it('relays over TCP with Send indications and shared-secret credentials, zero loss', async () => {
    await uclient(['-t', '-s', '-c'], ['-W', AUTH_SECRET, '-u', 'participant-43'], server.addresses.tcp!.port);
  });

  it('relays over TLS when a certificate is configured, zero loss', async () => {
    await uclient(['-t', '-S', '-c'], staticAuth, server.addresses.tls!.port);
  });

  it('never hit a handler error, and UDP clients used every thread', () => {
    expect(server.stats().handlerErrors).toBe(0);
    expect(server.stats().packetsToPeer).toBeGreaterThan(10_000);
    // With two threads, the kernel spread uclient's UDP clients over both (the main thread serves TCP/TLS).
    const relayed = server.stats().relayedPerThread;
    expect(relayed.length).toBe(threads === 1 ? 1 : 3);
    for (const n of relayed) expect(n).toBeGreaterThan(1000);
  });
});
