import { afterAll, beforeAll, expect, test } from 'vitest';
import WebSocket from 'ws';
import type { RunningServer } from '../../server/app.js';
import { waitUntil } from '../helpers/bot.js';
import { startTestServer } from '../helpers/server.js';

const SESSIONS = 200;
const INTERVAL_MS = 1000;

let server: RunningServer;
beforeAll(async () => {
  server = await startTestServer({ signaling: { heartbeatIntervalMs: INTERVAL_MS, heartbeatTimeoutMs: 10_000, connectionBurstPerIp: 1000, joinTimeoutMs: 30_000 } });
});
afterAll(async () => {
  await server?.close();
});

test(`the heartbeat pings ${SESSIONS} sessions spread over its interval, not in one burst`, async () => {
  const pingsAt: number[][] = [];
  const sockets = await Promise.all(
    Array.from({ length: SESSIONS }, (_, i) => {
      pingsAt[i] = [];
      const socket = new WebSocket(server.signalingUrl);
      socket.on('ping', () => pingsAt[i].push(performance.now()));
      return new Promise<WebSocket>((resolve, reject) => {
        socket.once('open', () => resolve(socket));
        socket.once('error', reject);
      });
    }),
  );
  try {
    // Two full intervals: every session is pinged at least once, each at its own phase.
    await waitUntil(() => pingsAt.every((p) => p.length >= 2), 10_000, 'two pings for every session');
    const second = pingsAt.map((p) => p[1]).sort((a, b) => a - b);
    // One burst would put every ping of a round within a few ms; spread over 10 slots of 100 ms they span ~900 ms.
    expect(second.at(-1)! - second[0]).toBeGreaterThan(INTERVAL_MS / 2);
    // No 100 ms window holds more than half of the sessions (one slot holds a tenth; a burst would hold all of them).
    let densest = 0;
    for (let i = 0, j = 0; i < second.length; i++) {
      while (second[i] - second[j] > 100) j++;
      densest = Math.max(densest, i - j + 1);
    }
    expect(densest).toBeLessThanOrEqual(SESSIONS / 2);
    // Each session is still pinged once per interval.
    for (const p of pingsAt) expect(p[1] - p[0]).toBeGreaterThan(INTERVAL_MS * 0.7);
  } finally {
    for (const socket of sockets) socket.close();
  }
  await waitUntil(() => server.signaling.sessionCount === 0, 5000, 'sessions closed');
});
