// Relays behind a 1:1 NAT (coturn's external-ip): clients are told the announced address, while
// the relay socket stays bound to the private one. 127.0.0.2 stands in for the public address; the
// peer reaches the relay at the bound address, as the NAT would deliver it.
import dgram from 'node:dgram';
import { expect, it } from 'vitest';
import { TurnTestClient } from './client.js';
import { USERS, startLoopbackServer } from './tools.js';

it('advertises relayAnnouncedAddress in XOR-RELAYED-ADDRESS and relays through the bound address', async () => {
  const server = await startLoopbackServer({ relayAnnouncedAddress: '127.0.0.2' });
  const peer = dgram.createSocket('udp4');
  await new Promise<void>((r) => peer.bind(0, '127.0.0.1', () => r()));
  const client = await TurnTestClient.open(server.addresses.udp!.port);
  try {
    const creds = { user: 'alice', password: USERS.alice };
    const allocation = await client.allocate(creds);
    expect(allocation).toMatchObject({ code: null, relayAddress: '127.0.0.2' });
    expect(await client.channelBind(creds, 0x4000, peer.address().port)).toBeNull();
    const atPeer = new Promise<dgram.RemoteInfo>((resolve) => peer.once('message', (_m, rinfo) => resolve(rinfo)));
    client.sendChannelData(0x4000, Buffer.from('to the peer'));
    const from = await atPeer;
    expect(from).toMatchObject({ address: '127.0.0.1', port: allocation.relayPort });
    peer.send(Buffer.from('back to the client'), allocation.relayPort, '127.0.0.1');
    await expect.poll(() => client.received.map((r) => r.data.toString())).toEqual(['back to the client']);
  } finally {
    client.close();
    peer.close();
    await server.close();
  }
});
