// IPv6 end to end over ::1: listener and relay on IPv6, the family requested with
// REQUESTED-ADDRESS-FAMILY (RFC 8656 §7.2), data both ways through a channel, on both relay threads' port.
import dgram from 'node:dgram';
import { expect, it } from 'vitest';
import { PeerFilter } from '../../../turn/peer-filter.js';
import { TurnTestClient } from './client.js';
import { EVERYTHING_BUT_LOOPBACK, USERS, startLoopbackServer } from './tools.js';

it('the test deny list leaves ::1 as the only IPv6 peer', () => {
  const filter = new PeerFilter(['::/0'], EVERYTHING_BUT_LOOPBACK);
  expect(filter.allows('::1')).toBe(true);
  for (const a of ['::', '::2', '::3', '::1:1', '2001:db8::1', '8000::1', 'fe80::1']) expect(filter.allows(a), a).toBe(false);
});

it('allocates an IPv6 relay for an IPv6 client and relays to an IPv6 peer', async () => {
  const server = await startLoopbackServer({ listenAddress: '::1', relayAddress: '::1', threads: 2, allowedPeerCidrs: ['::1/128'] });
  const peer = dgram.createSocket('udp6');
  peer.on('message', (msg, rinfo) => peer.send(Buffer.concat([Buffer.from('echo: '), msg]), rinfo.port, rinfo.address));
  await new Promise<void>((r) => peer.bind(0, '::1', () => r()));
  const client = await TurnTestClient.open(server.addresses.udp!.port, '::1');
  try {
    const creds = { user: 'alice', password: USERS.alice };
    // Without REQUESTED-ADDRESS-FAMILY the client asks for IPv4, which this server does not relay.
    expect((await client.allocate(creds)).code).toBe(440);
    const allocation = await client.allocate(creds, 6);
    expect(allocation).toMatchObject({ code: null, relayAddress: '::1' });
    expect(await client.channelBind(creds, 0x4001, peer.address().port)).toBeNull();
    client.sendChannelData(0x4001, Buffer.from('over IPv6'));
    await expect.poll(() => client.received.map((r) => [r.channel, r.data.toString()])).toEqual([[0x4001, 'echo: over IPv6']]);
    expect(server.stats()).toMatchObject({ allocations: 1, packetsToPeer: 1, packetsToClient: 1, handlerErrors: 0 });
  } finally {
    client.close();
    peer.close();
    await server.close();
  }
});
