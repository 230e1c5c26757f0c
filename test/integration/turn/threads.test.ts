// The UDP listener sharded over worker threads (SO_REUSEPORT): clients on different threads both
// relay, and the allocation quotas hold across threads (shared memory, not per thread).
import dgram from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startTurnServer, type TurnServer } from '../../../turn/index.js';
import { MessageBuilder } from '../../../turn/stun/builder.js';
import { Method, StunClass, messageType } from '../../../turn/stun/constants.js';
import { TurnTestClient, type Credentials } from './client.js';
import { freeUdpPort, loopbackConfig } from './tools.js';

const users = { alice: 'alice-secret', bob: 'bob-secret', probe: 'probe-secret' };
const creds = (user: keyof typeof users): Credentials => ({ user, password: users[user] });

let echo: dgram.Socket;
let echoPort: number;
const clients: TurnTestClient[] = [];

beforeAll(async () => {
  echo = dgram.createSocket('udp4');
  echo.on('message', (msg, rinfo) => echo.send(msg, rinfo.port, rinfo.address));
  await new Promise<void>((r) => echo.bind(0, '127.0.0.1', () => r()));
  echoPort = echo.address().port;
});

afterAll(() => echo.close());

afterEach(() => {
  for (const c of clients.splice(0)) c.close();
});

async function start(overrides: Parameters<typeof loopbackConfig>[0] = {}): Promise<{ server: TurnServer; registry: Registry }> {
  const registry = new Registry();
  const server = await startTurnServer(loopbackConfig({ threads: 2, users, ...overrides }), { logger: pino({ level: 'silent' }), registry });
  return { server, registry };
}

/** Opens clients until `perThread` of them sit on each UDP thread; finds out by allocating once as "probe". */
async function clientsByThread(server: TurnServer, perThread: number): Promise<TurnTestClient[][]> {
  const byThread: TurnTestClient[][] = [[], []];
  for (let i = 0; i < 64 && byThread.some((l) => l.length < perThread); i++) {
    const c = await TurnTestClient.open(server.addresses.udp!.port);
    clients.push(c);
    const before = server.stats().allocationsPerThread;
    expect((await c.allocate(creds('probe'))).code).toBeNull();
    const after = server.stats().allocationsPerThread;
    const thread = after.findIndex((n, t) => n > before[t]);
    expect(thread === 1 || thread === 2).toBe(true);
    expect(await c.release(creds('probe'))).toBeNull();
    if (byThread[thread - 1].length < perThread) byThread[thread - 1].push(c);
  }
  expect(byThread.map((l) => l.length)).toEqual([perThread, perThread]);
  return byThread;
}

async function until(check: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!check() && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
}

describe('TURN server with two UDP relay threads', () => {
  it('serves one UDP port from both threads, and clients on either thread relay to a peer and back', async () => {
    const { server } = await start();
    try {
      expect(server.stats().udpThreads).toBe(2);
      const [[a], [b]] = await clientsByThread(server, 1);
      for (const [c, text] of [[a, 'via thread 1'], [b, 'via thread 2']] as const) {
        expect((await c.allocate(creds('alice'))).code).toBeNull();
        expect(await c.channelBind(creds('alice'), 0x4001, echoPort)).toBeNull();
        c.sendChannelData(0x4001, Buffer.from(text));
        await until(() => c.received.length > 0);
        expect(c.received.map((r) => [r.channel, r.data.toString()])).toEqual([[0x4001, text]]);
      }
      expect(server.stats().allocationsPerThread).toEqual([0, 1, 1]);
      expect(server.stats()).toMatchObject({ allocations: 2, relaySockets: 2, packetsToPeer: 2, packetsToClient: 2, handlerErrors: 0 });
    } finally {
      await server.close();
    }
    expect(server.stats()).toMatchObject({ allocations: 0, relaySockets: 0, portsInUse: 0 });
  });

  it('serves no datagram until every thread has joined the port (a later join would move clients to another thread)', async () => {
    const port = await freeUdpPort();
    const client = dgram.createSocket('udp4');
    await new Promise<void>((r) => client.bind(0, '127.0.0.1', () => r()));
    let started = false;
    const answers = { beforeStart: 0, afterStart: 0 };
    client.on('message', () => (started ? answers.afterStart++ : answers.beforeStart++));
    const binding = (): void => client.send(new MessageBuilder(messageType(Method.Binding, StunClass.Request), randomBytes(12)).finish({ fingerprint: true }), port, '127.0.0.1');
    const spam = setInterval(binding, 2);
    try {
      const { server } = await start({ udpPort: port });
      started = true;
      try {
        await until(() => answers.afterStart > 0);
        expect(answers).toMatchObject({ beforeStart: 0 });
        expect(answers.afterStart).toBeGreaterThan(0);
      } finally {
        await server.close();
      }
    } finally {
      clearInterval(spam);
      client.close();
    }
  });

  it('holds the per-user and total allocation quotas across threads', async () => {
    const { server, registry } = await start({ maxAllocationsPerUser: 3, maxAllocationsTotal: 5 });
    try {
      const [[a1, a2, a3], [b1, b2, b3]] = await clientsByThread(server, 3);
      // alice, alternating threads: three allocations in total, not three per thread.
      const alice = [];
      for (const c of [a1, b1, a2, b2, a3, b3]) alice.push((await c.allocate(creds('alice'))).code);
      expect(alice).toEqual([null, null, null, 486, 486, 486]);
      expect(server.stats().allocationsPerThread).toEqual([0, 2, 1]);
      // bob fills the total of five, on thread 2; the sixth is refused on thread 1.
      expect((await b2.allocate(creds('bob'))).code).toBeNull();
      expect((await b3.allocate(creds('bob'))).code).toBeNull();
      expect((await a3.allocate(creds('bob'))).code).toBe(486);
      expect(server.stats().allocations).toBe(5);
      // A release on thread 2 makes room on thread 1.
      expect(await b1.release(creds('alice'))).toBeNull();
      expect((await a3.allocate(creds('bob'))).code).toBeNull();
      const metrics = await registry.metrics();
      expect(metrics).toMatch(/tsfu_turn_allocations_refused_total\{reason="user-quota"\} 3/);
      expect(metrics).toMatch(/tsfu_turn_allocations_refused_total\{reason="total-quota"\} 1/);
      expect(metrics).toMatch(/tsfu_turn_active_allocations 5/);
    } finally {
      await server.close();
    }
  });
});
