import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { expect, test } from 'vitest';
import { newUdpTransport } from '../../../sfu/peer/werift-peer-internals.js';
import { waitUntil } from '../../helpers/bot.js';

test("a host socket from newUdpTransport hands datagrams to werift's onData and sends to IP literals and names", async () => {
  const peer = createSocket('udp4');
  peer.bind(0, '127.0.0.1');
  await once(peer, 'listening');
  const atPeer: string[] = [];
  peer.on('message', (m) => atPeer.push(String(m)));
  const transport = newUdpTransport('udp4');
  transport.socket.bind(0, '127.0.0.1');
  await once(transport.socket, 'listening');
  const received: [string, [string, number]][] = [];
  transport.onData = (data, addr) => received.push([String(data), addr as [string, number]]);
  try {
    peer.send('to werift', transport.socket.address().port, '127.0.0.1');
    await waitUntil(() => received.length === 1, 2000, 'the datagram at the transport');
    expect(received[0]).toEqual(['to werift', ['127.0.0.1', peer.address().port]]);
    // werift's own send (the IP literal resolved at once) and a send to a name (through dns.lookup).
    await transport.send(Buffer.from('literal'), ['127.0.0.1', peer.address().port]);
    transport.socket.send('name', peer.address().port, 'localhost');
    await waitUntil(() => atPeer.length === 2, 2000, 'both datagrams at the peer');
    expect(atPeer.sort()).toEqual(['literal', 'name']);
  } finally {
    peer.close();
    await transport.close();
  }
});
