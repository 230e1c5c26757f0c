import { createSocket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, expect, test } from 'vitest';
import type { RunningServer } from '../../server/app.js';
import { mediaPortPool } from '../../sfu/peer/media-port-pool.js';
import { Bot, waitUntil } from '../helpers/bot.js';
import { metricTotal, startTestServer } from '../helpers/server.js';
import { SignalingClient, testToken } from '../helpers/signaling-client.js';

// The range the server would bind in range mode (this file's own): it must stay untouched.
const PORT_MIN = 46400;
const PORT_MAX = 46499;

let server: RunningServer;
/** Bots still in a room (closed after each test, also when it failed). */
const bots: Bot[] = [];
afterEach(async () => {
  for (const bot of bots.splice(0)) await bot.close();
});
beforeAll(async () => {
  server = await startTestServer({
    rtc: { udpPort: 0, portMin: PORT_MIN, portMax: PORT_MAX },
    signaling: { connectionsPerIpPerSecond: 1000, connectionBurstPerIp: 1000 },
  });
});
afterAll(async () => {
  await server?.close();
});

/**
 * Local ports of this process's UDP sockets on the shared port or in the server's range, read from the kernel (/proc),
 * not from our own books. (Test files may share the process: only ports that can be this server's are counted.)
 */
function serverUdpPorts(): number[] {
  const inodes = new Set<string>();
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/self/fd/${fd}`));
      if (match) inodes.add(match[1]);
    } catch {
      // the fd closed while listing
    }
  }
  const ports: number[] = [];
  for (const table of ['/proc/net/udp', '/proc/net/udp6']) {
    for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields.length < 10 || !inodes.has(fields[9])) continue;
      const port = parseInt(fields[1].split(':')[1], 16);
      if (port === server.udpMux!.port || (port >= PORT_MIN && port <= PORT_MAX)) ports.push(port);
    }
  }
  return ports;
}

/** Ports of the SFU's candidates in everything the bots were sent (answers, offers, trickled candidates). */
function announcedPorts(bots: Bot[]): Set<number> {
  const ports = new Set<number>();
  for (const message of bots.flatMap((bot) => bot.signaling.messages)) {
    const text = message.type === 'trickle' ? (message as { candidate: { candidate: string } }).candidate.candidate : String((message as { sdp?: string }).sdp ?? '');
    for (const match of text.matchAll(/udp \d+ 127\.0\.0\.1 (\d+) typ host/g)) ports.add(Number(match[1]));
  }
  return ports;
}

test('participants publish and receive through one UDP port; garbage on it is dropped; nothing is left after they leave', async () => {
  const mux = server.udpMux!;
  expect(mux.port).toBeGreaterThan(0);
  for (const identity of ['alice', 'bob', 'carol', 'dave']) bots.push(await Bot.join(server.signalingUrl, 'single-port', identity));
  await bots[0].publish();
  await bots[1].publish();
  await bots[0].receivesTracks(2, 20);
  await bots[1].receivesTracks(2, 20);
  await bots[2].receivesTracks(4, 20);
  await bots[3].receivesTracks(4, 20);

  expect(announcedPorts(bots)).toEqual(new Set([mux.port]));
  // Four subscriber connections and two publisher connections, all on the one socket.
  expect(mux.dump().sessions).toBe(6);
  expect(await metricTotal(server, 'tsfu_sfu_udp_mux_sessions')).toBe(6);
  expect(serverUdpPorts()).toEqual([mux.port]);
  expect(mediaPortPool('127.0.0.1', PORT_MIN, PORT_MAX).inUse).toBe(0);

  const garbage = createSocket('udp4');
  for (let i = 0; i < 3000; i++) {
    const junk = randomBytes(1 + (i % 1400));
    junk[0] = [0x00, 0x01, 0x16, 0x17, 0x80, 0x90, 0xc8, 0xff][i % 8];
    if (i % 5 === 0 && junk.length >= 20) junk.writeUInt32BE(0x2112a442, 4); // STUN magic cookie
    garbage.send(junk, mux.port, '127.0.0.1');
    if (i % 200 === 0) await new Promise((resolve) => setTimeout(resolve, 5));
  }
  await waitUntil(() => mux.dropped.unknown >= 3000, 5000, 'every garbage datagram dropped');
  garbage.close();
  expect(await metricTotal(server, 'tsfu_sfu_udp_mux_dropped_datagrams_total', 'reason="unknown"')).toBe(mux.dropped.unknown);
  const before = [...bots[3].received.values()].map((track) => track.packets);
  await waitUntil(() => [...bots[3].received.values()].every((track, i) => track.packets > before[i] + 20), 10_000, 'media still flowing');

  for (const bot of bots.splice(0)) await bot.close();
  await waitUntil(() => server.sfu.rooms.size === 0, 10_000, 'room closed');
  await waitUntil(() => mux.dump().sessions === 0, 10_000, 'every connection off the port');
  expect(mux.dump()).toEqual({ sessions: 0, ufrags: [], addresses: [] });
  expect(await metricTotal(server, 'tsfu_sfu_udp_mux_sessions')).toBe(0);
  expect(serverUdpPorts()).toEqual([mux.port]);
});

/** Joins and closes the WebSocket when `leaveOn` arrives (or right after sending join). */
async function vanish(room: string, identity: string, leaveOn?: 'joined' | 'subscriberOffer'): Promise<void> {
  const client = await SignalingClient.connect(server.signalingUrl);
  if (leaveOn) {
    client.socket.on('message', (raw) => {
      if ((JSON.parse(raw.toString()) as { type: string }).type === leaveOn) client.close();
    });
  }
  client.send({ type: 'join', room, token: await testToken({ room, identity }) });
  if (!leaveOn) client.close();
  await client.closed;
}

test('clients that vanish at any moment of a join, and bots that leave mid-ICE, leave nothing on the port', async () => {
  const mux = server.udpMux!;
  const teacher = await Bot.join(server.signalingUrl, 'vanish', 'teacher');
  bots.push(teacher);
  await teacher.publish({ audio: false });
  await waitUntil(() => mux.dump().sessions === 2, 10_000, 'the teacher\'s two connections on the port');
  const moments = [undefined, 'joined', 'subscriberOffer'] as const;
  for (let batch = 0; batch < 4; batch++) {
    await Promise.all(Array.from({ length: 15 }, (_, i) => vanish('vanish', `v-${batch}-${i}`, moments[i % 3])));
  }
  await Promise.all(
    Array.from({ length: 6 }, async (_, i) => {
      const bot = await Bot.join(server.signalingUrl, 'vanish', `bot-${i}`);
      await bot.close();
    }),
  );
  await waitUntil(() => server.sfu.dump().participants === 1, 15_000, 'only the teacher left');
  await waitUntil(() => mux.dump().sessions === 2, 10_000, 'only the teacher\'s two connections on the port');
  expect(mux.dump().ufrags).toHaveLength(2);
  await bots.splice(0)[0].close();
  await waitUntil(() => mux.dump().sessions === 0, 10_000, 'every connection off the port');
  expect(mux.dump()).toEqual({ sessions: 0, ufrags: [], addresses: [] });
  expect(serverUdpPorts()).toEqual([mux.port]);
});

test('behind 1:1 NAT the candidates carry rtc.announcedIp and the shared port', async () => {
  const natted = await startTestServer({ rtc: { udpPort: 0, announcedIp: '203.0.113.7' }, turn: { enabled: false } });
  try {
    const client = await SignalingClient.connect(natted.signalingUrl);
    client.send({ type: 'join', room: 'nat', token: await testToken({ room: 'nat', identity: 'far' }) });
    const offer = (await client.waitFor('subscriberOffer')) as { sdp: string };
    const candidates = offer.sdp.split('\r\n').filter((line) => line.startsWith('a=candidate:'));
    expect(candidates).toHaveLength(1);
    expect(candidates[0]).toMatch(new RegExp(` udp \\d+ 203\\.0\\.113\\.7 ${natted.udpMux!.port} typ host`));
    client.close();
    await client.closed;
  } finally {
    await natted.close();
  }
});
