import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { RunningServer } from '../../server/app.js';
import { defaultConfig } from '../../server/config.js';
import { joinRoom } from '../helpers/signaling-client.js';
import { startTestServer } from '../helpers/server.js';
import { TurnTestClient } from './turn/client.js';
import { REALM } from './turn/tools.js';

const SECRET = 'shared-turn-secret-for-the-test';
let server: RunningServer;
beforeAll(async () => {
  server = await startTestServer({
    turn: { ...defaultConfig().turn, credentialTtlSeconds: 600, server: { udpPort: 0, tcpPort: 0, authSecret: SECRET } },
    iceServers: [{ urls: ['stun:stun.example.test:3478'] }],
  });
});
afterAll(async () => {
  await server?.close();
});

test('the join reply carries this node TURN URLs with fresh time-limited credentials (TURN REST API convention)', async () => {
  const before = Math.floor(Date.now() / 1000);
  const { client, joined } = await joinRoom(server.signalingUrl, 'creds', 'alice');
  const [turn, extra] = joined.iceServers;
  const { udp, tcp } = server.turn!.server.addresses;
  expect(turn.urls).toEqual([`turn:127.0.0.1:${udp!.port}?transport=udp`, `turn:127.0.0.1:${tcp!.port}?transport=tcp`]);
  const [expiry, identity] = turn.username!.split(':');
  expect(identity).toBe('alice');
  expect(Number(expiry)).toBeGreaterThanOrEqual(before + 600);
  expect(Number(expiry)).toBeLessThanOrEqual(before + 602);
  expect(turn.credential).toBe(createHmac('sha1', SECRET).update(turn.username!).digest('base64'));
  // Operator-configured ICE servers follow.
  expect(extra).toEqual({ urls: ['stun:stun.example.test:3478'] });
  client.close();
});

test('an unknown TURN option stops start-up with a message naming it', async () => {
  await expect(startTestServer({ turn: { ...defaultConfig().turn, server: { udpPort: 0, tcpPort: 0, relayPorts: [1, 2] } } })).rejects.toThrow(/relayPorts/);
});

test('an IP in turn.announcedIp is both the URL host and the relayed address clients are given (1:1 NAT)', async () => {
  // 127.0.0.2 stands in for the public address; the client reaches the listener at the bound 127.0.0.1.
  const natted = await startTestServer({
    turn: { ...defaultConfig().turn, announcedIp: '127.0.0.2', server: { udpPort: 0, tcpPort: -1, realm: REALM } },
  });
  const { client, joined } = await joinRoom(natted.signalingUrl, 'nat', 'bob');
  const [turn] = joined.iceServers;
  const port = natted.turn!.server.addresses.udp!.port;
  expect(turn.urls).toEqual([`turn:127.0.0.2:${port}?transport=udp`]);
  const turnClient = await TurnTestClient.open(port);
  try {
    const allocation = await turnClient.allocate({ user: turn.username!, password: turn.credential! });
    expect(allocation).toMatchObject({ code: null, relayAddress: '127.0.0.2' });
  } finally {
    turnClient.close();
    client.close();
    await natted.close();
  }
});
