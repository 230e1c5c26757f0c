import { afterAll, beforeAll, expect, test } from 'vitest';
import type { RunningServer } from '../../server/app.js';
import { Bot, waitUntil } from '../helpers/bot.js';
import { startTestServer } from '../helpers/server.js';

let server: RunningServer;
const bots: Bot[] = [];
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  for (const bot of bots) await bot.close();
  await server?.close();
});

// A client that trickles every candidate after its offer (as browsers may) connects, whether its candidates or
// its connectivity checks reach the SFU first (the SFU's ICE starts with an empty check list).
test.each([0, 400])('a publisher whose offer has no candidates and trickles them %i ms after the answer connects', async (lateMs) => {
  const room = `trickle-${lateMs}`;
  const alice = await Bot.join(server.signalingUrl, room, 'alice');
  bots.push(alice);
  const failures = () => alice.signaling.messages.filter((m) => m.type === 'error' || m.type === 'leave').length;
  await alice.publish({ audio: false, trickleLateMs: lateMs });
  const bob = await Bot.join(server.signalingUrl, room, 'bob');
  bots.push(bob);
  await bob.receivesTracks(1, 30);
  await waitUntil(() => alice.publisher?.connectionState === 'connected', 10_000, 'publisher connected');
  expect(failures()).toBe(0);
});

test('an mDNS candidate (a .local name) is ignored: no error, and the connection comes up from the real address', async () => {
  const carol = await Bot.join(server.signalingUrl, 'mdns', 'carol');
  bots.push(carol);
  const before = carol.signaling.messages.length;
  carol.signaling.send({
    type: 'trickle',
    target: 'subscriber',
    candidate: { candidate: 'candidate:1 1 udp 2122260223 0d6b2c1e-8f5e-4c0a-9b3a-3f2f5b1f9a10.local 54321 typ host', sdpMid: '0', sdpMLineIndex: 0 },
  });
  await carol.dataReady();
  expect(carol.signaling.messages.slice(before).filter((m) => m.type === 'error')).toEqual([]);
});
