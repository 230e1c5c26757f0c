import { createSocket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
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

/** Datagrams that look like each protocol multiplexed on the port (RFC 7983 §7) but are not. */
function garbage(i: number): Buffer {
  const size = 1 + (i % 1400);
  const bytes = randomBytes(size);
  const firstBytes = [0x00, 0x01, 0x16, 0x17, 0x80, 0x90, 0xc8, 0xff];
  bytes[0] = firstBytes[i % firstBytes.length] | (i % 3);
  if (i % 5 === 0 && size >= 20) bytes.writeUInt32BE(0x2112a442, 4); // STUN magic cookie
  return bytes;
}

test('garbage datagrams on the media ports are dropped and media keeps flowing', async () => {
  const alice = await Bot.join(server.signalingUrl, 'garbage', 'alice');
  const bob = await Bot.join(server.signalingUrl, 'garbage', 'bob');
  await alice.publish();
  await bob.receivesTracks(2, 10);
  const offers = [...alice.signaling.messages, ...bob.signaling.messages].filter((m) => m.type === 'subscriberOffer' || m.type === 'publishAnswer');
  const ports = new Set<number>();
  for (const m of offers) for (const match of String((m as { sdp: string }).sdp).matchAll(/a=candidate:\S+ \d+ udp \d+ 127\.0\.0\.1 (\d+)/g)) ports.add(Number(match[1]));
  for (const m of [...alice.signaling.messages, ...bob.signaling.messages]) {
    if (m.type !== 'trickle') continue;
    const match = /udp \d+ 127\.0\.0\.1 (\d+)/.exec((m as { candidate: { candidate: string } }).candidate.candidate);
    if (match) ports.add(Number(match[1]));
  }
  expect(ports.size).toBeGreaterThanOrEqual(2);

  const socket = createSocket('udp4');
  for (let i = 0; i < 4000; i++) {
    for (const port of ports) socket.send(garbage(i), port, '127.0.0.1');
    if (i % 200 === 0) await new Promise((r) => setTimeout(r, 5));
  }
  await new Promise((r) => setTimeout(r, 300));
  socket.close();

  const before = [...bob.received.values()].map((t) => t.packets);
  await waitUntil(() => [...bob.received.values()].every((t, i) => t.packets > before[i] + 20), 10_000, 'media still flowing');
  const carol = await Bot.join(server.signalingUrl, 'garbage', 'carol');
  await carol.receivesTracks(2, 5);
  for (const bot of [alice, bob, carol]) await bot.close();
  await waitUntil(() => server.sfu.rooms.size === 0, 5000, 'room closed');
});
