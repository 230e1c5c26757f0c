import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { afterEach, describe, expect, test } from 'vitest';
import type { RTCDtlsTransport, UdpTransport } from 'werift';
import { sendProtected } from '../../../sfu/media/rtp/werift-transport.js';
import { newUdpTransport } from '../../../sfu/peer/werift-peer-internals.js';
import { waitUntil } from '../../helpers/bot.js';

/** A DTLS transport whose ICE connection has a nominated pair on a real UDP socket, sending to `receiver`. */
function fakeDtls(transport: UdpTransport | { closed: boolean }, remote: [string, number], consent = () => true) {
  const viaWerift: Buffer[] = [];
  const pair = { protocol: { transport }, remoteAddr: remote, packetsSent: 0, bytesSent: 0 };
  const connection = {
    nominated: pair,
    canSendApplicationData: consent,
    send: async (data: Buffer) => {
      viaWerift.push(data);
    },
  };
  const dtls = { bytesSent: 0, packetsSent: 0, iceTransport: { connection } } as unknown as RTCDtlsTransport;
  return { dtls, pair, viaWerift };
}

describe('sendProtected', () => {
  const sockets: Socket[] = [];
  const transports: UdpTransport[] = [];
  afterEach(async () => {
    for (const s of sockets.splice(0)) s.close();
    for (const t of transports.splice(0)) await t.close();
  });

  async function endpoints() {
    const receiver = createSocket('udp4');
    sockets.push(receiver);
    receiver.bind(0, '127.0.0.1');
    await once(receiver, 'listening');
    const received: Buffer[] = [];
    receiver.on('message', (m) => received.push(m));
    const transport = newUdpTransport('udp4');
    transports.push(transport);
    transport.socket.bind(0, '127.0.0.1');
    await once(transport.socket, 'listening');
    return { received, transport, remote: ['127.0.0.1', receiver.address().port] as [string, number] };
  }

  test("sends on the nominated UDP pair's socket directly and counts it as werift does", async () => {
    const { received, transport, remote } = await endpoints();
    const { dtls, pair, viaWerift } = fakeDtls(transport, remote);
    sendProtected(dtls, Buffer.from('hello'));
    sendProtected(dtls, Buffer.from('world!'));
    await waitUntil(() => received.length === 2, 2000, 'two datagrams');
    expect(received.map(String)).toEqual(['hello', 'world!']);
    expect(viaWerift).toHaveLength(0);
    expect([pair.packetsSent, pair.bytesSent, dtls.packetsSent, dtls.bytesSent]).toEqual([2, 11, 2, 11]);
  });

  test('sends nothing without consent (RFC 7675) or on a closed transport', async () => {
    const { received, transport, remote } = await endpoints();
    let consent = false;
    const { dtls, pair } = fakeDtls(transport, remote, () => consent);
    sendProtected(dtls, Buffer.from('no consent'));
    consent = true;
    sendProtected(dtls, Buffer.from('consent'));
    await waitUntil(() => received.length === 1, 2000, 'the datagram sent with consent');
    await transport.close();
    transports.length = 0;
    sendProtected(dtls, Buffer.from('closed'));
    // The datagram sent with consent arrived; loopback delivers in order, so 100 ms more shows nothing else came.
    await new Promise((r) => setTimeout(r, 100));
    expect(received.map(String)).toEqual(['consent']);
    expect(pair.packetsSent).toBe(1);
  });

  test("leaves other pairs (TURN, TCP) and remote names to werift's own send", async () => {
    const { transport } = await endpoints();
    const turn = fakeDtls({ closed: false }, ['127.0.0.1', 9]);
    sendProtected(turn.dtls, Buffer.from('a'));
    expect(turn.viaWerift).toHaveLength(1);
    const named = fakeDtls(transport, ['peer.local', 9]);
    sendProtected(named.dtls, Buffer.from('b'));
    expect(named.viaWerift).toHaveLength(1);
  });
});
