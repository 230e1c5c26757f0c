/**
 * Signaling under hostile input: ≥ 100,000 fuzzed frames from many connections (malformed JSON, wrong
 * types, huge strings, invalid UTF-8, binary, valid-shaped requests in the wrong state, bad tokens), with
 * connections dropped at every stage of a session, including between `joined` and `subscriberOffer`.
 * The server must keep serving, and once every client is gone nothing may be left: no session, room,
 * participant, peer connection, UDP socket or timer. The seed is printed; FUZZ_SEED=n replays a run.
 */
import { afterAll, beforeAll, expect, test } from 'vitest';
import WebSocket from 'ws';
import type { RunningServer } from '../../server/app.js';
import { waitUntil } from '../helpers/bot.js';
import { joinRoom, testToken } from '../helpers/signaling-client.js';
import { startTestServer } from '../helpers/server.js';

const TARGET_FRAMES = 100_000;
const CONCURRENCY = 32;
const ROOMS = 4;
const MAX_MESSAGE_BYTES = 16 * 1024;

const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 1_000_000);

/** mulberry32: a small seeded PRNG, so a failing run can be replayed. */
function prng(s: number): () => number {
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const random = prng(seed);
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)];
const chance = (p: number) => random() < p;

function randomString(length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) out += String.fromCharCode(32 + Math.floor(random() * 0x2000));
  return out;
}

function randomValue(depth = 0): unknown {
  switch (Math.floor(random() * (depth > 2 ? 6 : 8))) {
    case 0: return null;
    case 1: return random() * 1e6 - 5e5;
    case 2: return chance(0.5);
    case 3: return randomString(Math.floor(random() * 40));
    case 4: return pick(['', 'join', 'publishOffer', 'v=0', 'candidate:1 1 udp 1 127.0.0.1 9 typ host', '__proto__', '\u0000', '😀']);
    case 5: return Math.floor(random() * 2 ** 31);
    case 6: return Array.from({ length: Math.floor(random() * 4) }, () => randomValue(depth + 1));
    default: return Object.fromEntries(Array.from({ length: Math.floor(random() * 4) }, () => [pick(['type', 'sdp', 'room', 'token', 'tracks', 'mid', 'candidate', 'target', 'x']), randomValue(depth + 1)]));
  }
}

const TYPES = ['join', 'publishOffer', 'subscriberAnswer', 'trickle', 'unpublish', 'leave', 'subscribe', 'unsubscribe', 'ping'];

/** A request of a known type with some fields right and some wrong (a join rarely: a bad token ends the connection). */
function misshapenRequest(): unknown {
  const type = chance(0.02) ? 'join' : pick(TYPES.slice(1));
  const base: Record<string, unknown> = {
    join: { room: `fz${Math.floor(random() * ROOMS)}`, token: pick(['', 'x', 'not.a.jwt', 'a.b.c', randomString(20)]) },
    publishOffer: { sdp: pick(['v=0', 'v=0\r\no=- 0 0 IN IP4 0.0.0.0\r\n', randomString(50)]), tracks: chance(0.5) ? [] : [{ mid: '0', source: pick(['camera', 'webcam']) }] },
    subscriberAnswer: { sdp: pick(['v=0', randomString(30), 'v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n']) },
    trickle: { target: pick(['publisher', 'subscriber', 'both']), candidate: { candidate: pick(['', 'candidate:garbage', 'candidate:1 1 udp 1 127.0.0.1 9 typ host']), sdpMid: pick(['0', null, 7]) } },
    unpublish: { trackId: pick(['TR_x', '', 5]) },
    leave: {},
    subscribe: { trackIds: pick([['TR_x'], [], 'TR_x']) },
    unsubscribe: { trackIds: pick([['TR_x'], []]) },
    ping: {},
  }[type] as Record<string, unknown>;
  const message: Record<string, unknown> = { type, ...base };
  if (chance(0.3)) message[pick(['extra', 'room', 'sdp', 'tracks'])] = randomValue();
  if (chance(0.1)) delete message[pick(Object.keys(message))];
  return message;
}

type Frame = { data: string | Buffer; binary: boolean; ends?: boolean };

/** One fuzzed frame; `ends` when the server is expected to close the connection over it. */
function fuzzFrame(): Frame {
  const r = random();
  if (r < 0.2) {
    // Malformed JSON: truncated or random text.
    const text = JSON.stringify(misshapenRequest());
    return { data: chance(0.5) ? text.slice(0, Math.floor(random() * text.length)) : randomString(1 + Math.floor(random() * 60)), binary: false };
  }
  if (r < 0.4) return { data: JSON.stringify(randomValue()), binary: false };
  if (r < 0.8) return { data: JSON.stringify(misshapenRequest()), binary: false };
  if (r < 0.85) return { data: Buffer.from(Array.from({ length: 1 + Math.floor(random() * 64) }, () => Math.floor(random() * 256))), binary: true };
  if (r < 0.9) return { data: JSON.stringify({ type: pick(TYPES), sdp: 'v'.repeat(MAX_MESSAGE_BYTES - 100) }), binary: false };
  if (r < 0.995) return { data: JSON.stringify({ type: 'leave', junk: '\u{1F600}'.repeat(50) }), binary: false };
  if (chance(0.5)) return { data: 'x'.repeat(MAX_MESSAGE_BYTES + 1), binary: false, ends: true };
  // Invalid UTF-8 in a text frame (1007).
  return { data: Buffer.from([0x7b, 0x22, 0xc3, 0x28, 0xff, 0x7d]), binary: false, ends: true };
}

/** Where a connection is dropped. */
const STAGES = ['never', 'before-join', 'after-join-sent', 'after-joined', 'after-subscriber-offer', 'mid-stream'] as const;
type Stage = (typeof STAGES)[number];

let server: RunningServer;
let sent = 0;
const closeCodes = new Map<number, number>();
const stats = { joined: 0, droppedBetweenJoinedAndOffer: 0, droppedAfterOffer: 0, unparsableReplies: 0 };

beforeAll(async () => {
  server = await startTestServer({
    signaling: {
      maxMessageBytes: MAX_MESSAGE_BYTES,
      // Most frames must reach the parser, not the rate limiter; a few clients still trip it below.
      messagesPerSecond: 5000,
      messageBurst: 5000,
      connectionsPerIpPerSecond: 10_000,
      connectionBurstPerIp: 10_000,
      joinTimeoutMs: 2000,
    },
  });
});
afterAll(async () => {
  await server?.close();
});

function resources(): { udp: number; timers: number; tcp: number } {
  const info = process.getActiveResourcesInfo();
  return { udp: info.filter((k) => k === 'UDPWrap').length, timers: info.filter((k) => k === 'Timeout').length, tcp: info.filter((k) => k === 'TCPSocketWrap').length };
}

function waitForOpen(socket: WebSocket): Promise<boolean> {
  return new Promise((resolve) => {
    socket.once('open', () => resolve(true));
    socket.once('error', () => resolve(false));
    socket.once('close', () => resolve(false));
  });
}

/** One fuzzing connection: some frames, maybe a valid join, dropped at its stage. */
async function fuzzConnection(id: number, tokens: string[]): Promise<void> {
  const stage: Stage = pick(STAGES);
  const valid = chance(0.25);
  const socket = new WebSocket(server.signalingUrl);
  socket.on('error', () => undefined);
  let ended = false;
  const closed = new Promise<void>((resolve) =>
    socket.on('close', (code) => {
      ended = true;
      closeCodes.set(code, (closeCodes.get(code) ?? 0) + 1);
      resolve();
    }),
  );
  const seen = new Set<string>();
  const waiters: { type: string; resolve: () => void }[] = [];
  socket.on('message', (data) => {
    let type = 'unparsable';
    try {
      type = (JSON.parse(data.toString()) as { type: string }).type;
    } catch {
      stats.unparsableReplies++;
    }
    seen.add(type);
    if (type === 'joined' && stage === 'after-joined' && !seen.has('subscriberOffer')) {
      // Dropped the moment `joined` is read (a later frame of the same read is not looked at): the server is
      // setting up this participant's subscriber connection right now.
      stats.droppedBetweenJoinedAndOffer++;
      drop();
    }
    for (const w of waiters.filter((w) => w.type === type)) w.resolve();
  });
  const until = (type: string, ms = 3000) =>
    seen.has(type) || ended
      ? Promise.resolve()
      : new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, ms);
          waiters.push({ type, resolve: () => (clearTimeout(timer), resolve()) });
          void closed.then(() => (clearTimeout(timer), resolve()));
        });
  const drop = () => (chance(0.5) ? socket.terminate() : socket.close());
  const burst = async (count: number) => {
    for (let i = 0; i < count && !ended && socket.readyState === WebSocket.OPEN; i++) {
      const frame = fuzzFrame();
      socket.send(frame.data, { binary: frame.binary });
      sent++;
      if (frame.ends) break;
      if (i % 50 === 49) await new Promise((resolve) => setImmediate(resolve));
    }
  };

  if (!(await waitForOpen(socket))) return;
  if (stage === 'before-join') {
    await burst(Math.floor(random() * 20));
    drop();
    return closed;
  }
  await burst(Math.floor(random() * 150));
  if (valid && !ended) {
    socket.send(JSON.stringify({ type: 'join', room: `fz${id % ROOMS}`, token: tokens[id % tokens.length] }));
    sent++;
    if (stage === 'after-join-sent') {
      drop();
      return closed;
    }
    await until('joined');
    if (seen.has('joined')) stats.joined++;
    if (stage === 'after-joined') {
      drop(); // already dropped when `joined` arrived, unless it never did
      return closed;
    }
    await until('subscriberOffer');
    if (stage === 'after-subscriber-offer') {
      if (seen.has('subscriberOffer')) stats.droppedAfterOffer++;
      drop();
      return closed;
    }
  }
  await burst(Math.floor(random() * 300));
  if (stage === 'mid-stream' || chance(0.5)) drop();
  else socket.close();
  return closed;
}

test(`≥ ${TARGET_FRAMES} fuzzed frames: the server keeps serving and nothing leaks (seed ${seed})`, { timeout: 120_000 }, async () => {
  console.log(`signaling fuzz seed: ${seed} (FUZZ_SEED=${seed} replays it)`);
  // Warm-up: lazily created process-wide resources (werift, jose) exist before the baseline.
  const warm = await joinRoom(server.signalingUrl, 'warm', 'warm');
  await warm.client.waitFor('subscriberOffer');
  warm.client.close();
  await waitUntil(() => server.signaling.sessionCount === 0 && server.sfu.rooms.size === 0, 10_000, 'warm-up gone');
  const before = resources();

  // Identities repeat across connections, so joins also replace live participants.
  const tokens = await Promise.all(Array.from({ length: 64 }, (_, i) => testToken({ room: `fz${i % ROOMS}`, identity: `fuzz-${i % 24} ${pick(['😀', 'Ωμέγα', 'a\u0000b', ''])}` })));
  const startedAt = performance.now();
  let next = 0;
  let connections = 0;
  const worker = async () => {
    while (sent < TARGET_FRAMES) {
      connections++;
      await fuzzConnection(next++, tokens);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const fuzzSeconds = (performance.now() - startedAt) / 1000;
  console.log(`sent ${sent} frames over ${connections} connections in ${fuzzSeconds.toFixed(1)} s; ${JSON.stringify(stats)}; close codes ${JSON.stringify(Object.fromEntries(closeCodes))}`);
  expect(sent).toBeGreaterThanOrEqual(TARGET_FRAMES);
  expect(stats.unparsableReplies).toBe(0);
  // Every stage was exercised (about 1 connection in 24 drops between joined and subscriberOffer).
  expect(stats.joined).toBeGreaterThan(50);
  expect(stats.droppedBetweenJoinedAndOffer).toBeGreaterThan(5);
  expect(stats.droppedAfterOffer).toBeGreaterThan(5);

  // Still serving: a well-behaved client joins and gets its subscriber offer.
  const { client, joined } = await joinRoom(server.signalingUrl, 'after-fuzz', 'survivor');
  expect(joined.roomId).toBe('after-fuzz');
  await client.waitFor('subscriberOffer');
  client.close();

  // Nothing left behind (werift closes sockets and clears timers asynchronously: poll with a deadline).
  await waitUntil(() => server.signaling.sessionCount === 0 && server.sfu.rooms.size === 0, 20_000, 'every session and room gone');
  expect(server.sfu.dump()).toEqual({ rooms: [], participants: 0, publishedTracks: 0, downTracks: 0, peerConnections: 0 });
  let after = resources();
  const deadline = Date.now() + 20_000;
  while ((after.udp > before.udp || after.timers > before.timers || after.tcp > before.tcp) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    after = resources();
  }
  expect(after.udp).toBeLessThanOrEqual(before.udp);
  expect(after.timers).toBeLessThanOrEqual(before.timers);
  expect(after.tcp).toBeLessThanOrEqual(before.tcp);
});
