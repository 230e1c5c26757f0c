/**
 * Signaling load test (`npm run bench:signaling`): N WebSocket sessions join rooms of 50 on one server (its own
 * process, bench/lib/server-process.ts), then exchange `ping`/`pong` requests at a fixed total rate. Prints
 * `name: value` lines:
 *
 * - join → `joined` and join → `subscriberOffer` latency, p50/p99 over all joins and over the last 10 % (the
 *   cost at N sessions), with joins in a closed loop of BENCH_JOIN_CONCURRENCY at a time;
 * - the server's CPU time per join and its RSS per 1,000 sessions (after a full GC, against the empty server);
 * - request round trip (`ping` → `pong`) p50/p99 at BENCH_MESSAGE_RATE messages per second across all sessions,
 *   and the heartbeat RTT the server reported meanwhile (`rtt` messages; loopback, so it should read ~1 ms).
 *
 * BENCH_UDP_MODE picks how the server binds media: `range` (default; rtc.portMin..portMax, one UDP socket per
 * peer connection) or `single` (rtc.udpPort, one UDP socket for the node). Every session costs the server a TCP
 * socket, and in `range` mode a UDP socket too (its subscriber peer connection): N defaults to 10,000 or what the
 * hard file-descriptor limit allows, whichever is less. The npm script raises the soft limit to the hard one
 * (`ulimit -Sn`), and the server child inherits it.
 *
 * Environment: BENCH_SESSIONS, BENCH_UDP_MODE (range), BENCH_JOIN_CONCURRENCY (16), BENCH_MESSAGE_RATE (5000),
 * BENCH_MESSAGE_SECONDS (10).
 */
import { execSync } from 'node:child_process';
import WebSocket from 'ws';
import { testToken } from '../test/helpers/signaling-client.js';
import { ServerHandle } from './lib/handles.js';
import { percentile, round, sleep } from './lib/stats.js';

const ROOM_SIZE = 50;
const FD_RESERVE = 300;

function hardFdLimit(): number {
  try {
    return Number(execSync('ulimit -Hn', { shell: '/bin/sh' }).toString().trim()) || 1024;
  } catch {
    return 1024;
  }
}

const UDP_MODE = process.env.BENCH_UDP_MODE ?? 'range';
if (UDP_MODE !== 'range' && UDP_MODE !== 'single') throw new Error(`BENCH_UDP_MODE must be range or single, not ${UDP_MODE}`);
/** Server file descriptors per session: its WebSocket, and in range mode its subscriber's UDP socket. */
const FDS_PER_SESSION = UDP_MODE === 'range' ? 2 : 1;
const fdBudget = Math.floor((hardFdLimit() - FD_RESERVE) / FDS_PER_SESSION);
const SESSIONS = Math.min(Number(process.env.BENCH_SESSIONS ?? 10_000), fdBudget);
const JOIN_CONCURRENCY = Number(process.env.BENCH_JOIN_CONCURRENCY ?? 16);
const MESSAGE_RATE = Number(process.env.BENCH_MESSAGE_RATE ?? 5000);
const MESSAGE_SECONDS = Number(process.env.BENCH_MESSAGE_SECONDS ?? 10);

interface Session {
  socket: WebSocket;
  joinSentAt: number;
  joinedAt?: number;
  offerAt?: number;
}

const pingsInFlight = new Map<number, number>();
const pingRtts: number[] = [];
const heartbeatRtts: number[] = [];
let collectHeartbeats = false;
let serverErrors = 0;

function print(name: string, value: number | string): void {
  console.log(`${name}: ${typeof value === 'number' ? round(value, 2) : value}`);
}

async function openSession(url: string, index: number, token: string): Promise<Session> {
  const socket = new WebSocket(url, { perMessageDeflate: false });
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  const session: Session = { socket, joinSentAt: 0 };
  const done = new Promise<void>((resolve, reject) => {
    socket.on('message', (data) => {
      const now = performance.now();
      const message = JSON.parse(data.toString()) as { type: string; id?: number; rttMs?: number; code?: string; message?: string };
      switch (message.type) {
        case 'joined':
          session.joinedAt = now;
          break;
        case 'subscriberOffer':
          session.offerAt ??= now;
          resolve();
          break;
        case 'pong': {
          const sentAt = pingsInFlight.get(message.id!);
          if (sentAt !== undefined) {
            pingsInFlight.delete(message.id!);
            pingRtts.push(now - sentAt);
          }
          break;
        }
        case 'rtt':
          if (collectHeartbeats) heartbeatRtts.push(message.rttMs!);
          break;
        case 'error':
          serverErrors++;
          if (session.offerAt === undefined) reject(new Error(`session ${index}: ${message.code} ${message.message}`));
          break;
      }
    });
    socket.once('close', (code) => reject(new Error(`session ${index} closed with ${code}`)));
  });
  session.joinSentAt = performance.now();
  socket.send(JSON.stringify({ type: 'join', room: `load-${Math.floor(index / ROOM_SIZE)}`, token }));
  await done;
  return session;
}

async function main(): Promise<void> {
  console.error(`signaling bench (${UDP_MODE} UDP mode): ${SESSIONS} sessions (fd budget ${fdBudget}), ${JOIN_CONCURRENCY} joins at a time, ${MESSAGE_RATE} msg/s for ${MESSAGE_SECONDS} s`);
  process.env.BENCH_SERVER_CONFIG = JSON.stringify({
    signaling: { connectionsPerIpPerSecond: 1_000_000, connectionBurstPerIp: 1_000_000, maxParticipantsPerRoom: 100, joinTimeoutMs: 120_000 },
    // range: one UDP port per session, without probing ports that are taken; single: one port for all (the OS picks
    // it). Answers are not awaited here.
    rtc: { portMin: 40000, portMax: 59999, udpPort: UDP_MODE === 'single' ? 0 : -1, subscriberAnswerTimeoutMs: 3_600_000, connectTimeoutMs: 3_600_000 },
  });
  const server = await ServerHandle.start({ exposeGc: true });
  const sessions: Session[] = [];
  try {
    const tokens = await Promise.all(Array.from({ length: SESSIONS }, (_, i) => testToken({ room: `load-${Math.floor(i / ROOM_SIZE)}`, identity: `u${i}`, ttlSeconds: 7200 })));
    const empty = await server.inspect({ gc: true });
    const cpuBefore = await server.sample();

    // Joins in a closed loop: JOIN_CONCURRENCY in flight, the next starts when one has its subscriber offer.
    let next = 0;
    const startedAt = performance.now();
    let lastReport = startedAt;
    const worker = async () => {
      while (next < SESSIONS) {
        const index = next++;
        sessions[index] = await openSession(server.signalingUrl, index, tokens[index]);
        if (performance.now() - lastReport > 5000) {
          lastReport = performance.now();
          console.error(`  ${sessions.filter(Boolean).length} sessions joined after ${round((lastReport - startedAt) / 1000)} s`);
        }
      }
    };
    await Promise.all(Array.from({ length: JOIN_CONCURRENCY }, worker));
    const joinSeconds = (performance.now() - startedAt) / 1000;
    const cpuAfter = await server.sample();
    await sleep(2000);
    const full = await server.inspect({ gc: true });

    const joined = sessions.map((s) => s.joinedAt! - s.joinSentAt);
    const offered = sessions.map((s) => s.offerAt! - s.joinSentAt);
    const tail = Math.max(1, Math.floor(SESSIONS / 10));
    print('udp_mode', UDP_MODE);
    print('sessions', SESSIONS);
    print('join_seconds_total', joinSeconds);
    print('join_to_joined_p50_ms', percentile(joined, 50));
    print('join_to_joined_p99_ms', percentile(joined, 99));
    print('join_to_subscriber_offer_p50_ms', percentile(offered, 50));
    print('join_to_subscriber_offer_p99_ms', percentile(offered, 99));
    print('join_to_subscriber_offer_last_10pct_p50_ms', percentile(offered.slice(-tail), 50));
    print('join_to_subscriber_offer_last_10pct_p99_ms', percentile(offered.slice(-tail), 99));
    print('server_cpu_ms_per_join', ((cpuAfter.cpuSeconds - cpuBefore.cpuSeconds) * 1000) / SESSIONS);
    print('server_rss_mib', full.memory.rss / 2 ** 20);
    print('rss_per_1000_sessions_mib', ((full.memory.rss - empty.memory.rss) / 2 ** 20 / SESSIONS) * 1000);
    print('server_udp_sockets', full.resources.UDPWrap ?? 0);

    // Requests at a fixed total rate, round robin over the sessions; the server's heartbeat runs meanwhile.
    collectHeartbeats = true;
    let id = 0;
    const messageStart = performance.now();
    const total = MESSAGE_RATE * MESSAGE_SECONDS;
    await new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        const due = Math.min(total, Math.floor(((performance.now() - messageStart) / 1000) * MESSAGE_RATE));
        for (; id < due; id++) {
          const session = sessions[id % SESSIONS];
          pingsInFlight.set(id, performance.now());
          session.socket.send(`{"type":"ping","id":${id}}`);
        }
        if (id >= total) {
          clearInterval(timer);
          resolve();
        }
      }, 5);
    });
    const messageSeconds = (performance.now() - messageStart) / 1000;
    const deadline = performance.now() + 10_000;
    while (pingsInFlight.size > 0 && performance.now() < deadline) await sleep(50);
    collectHeartbeats = false;
    print('message_rate_per_s', total / messageSeconds);
    print('message_rtt_p50_ms', percentile(pingRtts, 50));
    print('message_rtt_p99_ms', percentile(pingRtts, 99));
    print('messages_unanswered', pingsInFlight.size);
    print('heartbeat_rtt_reports', heartbeatRtts.length);
    print('heartbeat_rtt_p50_ms', percentile(heartbeatRtts, 50));
    print('heartbeat_rtt_p99_ms', percentile(heartbeatRtts, 99));
    print('server_errors', serverErrors);
  } finally {
    for (const session of sessions) session?.socket.terminate();
    await server.stop();
  }
}

await main();
