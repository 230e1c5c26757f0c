import { afterAll, beforeAll, expect, test } from 'vitest';
import type { RunningServer } from '../../server/app.js';
import { Bot, waitUntil } from '../helpers/bot.js';
import { startTestServer } from '../helpers/server.js';

let server: RunningServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.close();
});

/** Active libuv handles and timers in this process, by kind (UDP sockets, TCP sockets, timers, ...). */
function resources(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const kind of process.getActiveResourcesInfo()) counts[kind] = (counts[kind] ?? 0) + 1;
  return counts;
}

let during: Record<string, number> = {};

async function classroomRound(round: number): Promise<void> {
  const bots = [await Bot.join(server.signalingUrl, 'churn', `t${round}`), await Bot.join(server.signalingUrl, 'churn', `s${round}`)];
  await bots[0].publish();
  await bots[1].publish({ video: false });
  await bots[1].receivesTracks(2, 10);
  await bots[0].receivesTracks(1, 10);
  await Promise.all(bots.map((b) => b.dataReady()));
  // The student speaks: the room's active-speaker timer runs (and must go with the room).
  bots[1].audioLevel = 20;
  await waitUntil(() => bots[0].activeSpeakers.at(-1)?.speakers[0]?.identity === `s${round}`, 5000, 'the student heard speaking');
  expect(server.sfu.room('churn').activeSpeakerTimerRunning).toBe(true);
  if (round === 1) during = resources();
  bots[0].sendData('hi');
  await waitUntil(() => bots[1].data.length > 0, 5000, 'data');
  for (const bot of bots) await bot.close();
  await waitUntil(() => server.sfu.rooms.size === 0 && server.signaling.sessionCount === 0, 10_000, 'room closed');
}

test('rooms that fill and empty again leave no socket, timer (active-speaker timers included) or map entry behind', async () => {
  await classroomRound(0); // warm-up: lazily created process-wide resources
  await new Promise((r) => setTimeout(r, 500));
  const before = resources();
  for (let round = 1; round <= 3; round++) await classroomRound(round);
  // werift closes sockets and clears timers asynchronously after close().
  let after = resources();
  const deadline = Date.now() + 10_000;
  const kinds = ['UDPWrap', 'TCPSocketWrap', 'Timeout'];
  const count = (r: Record<string, number>) => Object.fromEntries(kinds.map((k) => [k, r[k] ?? 0]));
  const settled = () => kinds.every((k) => (after[k] ?? 0) <= (before[k] ?? 0));
  while (!settled() && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 200));
    after = resources();
  }
  // While the room was full the peers' sockets and timers were there to be seen...
  expect(during.UDPWrap ?? 0).toBeGreaterThan(before.UDPWrap ?? 0);
  expect(during.Timeout ?? 0).toBeGreaterThan(before.Timeout ?? 0);
  // ...and once it emptied, every one of them is gone.
  expect(count(after)).toEqual(count(before));
  expect(server.sfu.dump()).toEqual({ rooms: [], participants: 0, publishedTracks: 0, downTracks: 0, peerConnections: 0 });
});
