import { connect, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, expect, test } from 'vitest';
import type { RTCDataChannel, RTCPeerConnection } from 'werift';
import { closePeerConnection, createPeerConnection } from '../../../sfu/peer/peer-factory.js';
import { TcpMux } from '../../../sfu/peer/tcp-mux.js';
import { UdpMux } from '../../../sfu/peer/udp-mux.js';
import { defaultSfuOptions } from '../../../sfu/sfu-options.js';
import { waitUntil } from '../../helpers/bot.js';
import { stunBindingRequest } from '../../helpers/stun-request.js';

let udp: UdpMux;
let tcp: TcpMux;
beforeAll(async () => {
  udp = await UdpMux.open('127.0.0.1', 0);
  tcp = await TcpMux.open('127.0.0.1', 0, (ufrag) => udp.connectionForUfrag(ufrag));
});
afterAll(async () => {
  await tcp?.close();
  await udp?.close();
});

const open: RTCPeerConnection[] = [];
const closeAll = () => Promise.all(open.splice(0).map((pc) => closePeerConnection(pc)));
afterEach(closeAll);

/** A werift client that pairs only its active TCP candidate and answers no check over UDP: ICE-TCP or nothing. */
function tcpOnlyClient(): RTCPeerConnection {
  return createPeerConnection(
    { ...defaultSfuOptions, portMin: 45000, portMax: 45999 },
    {
      iceUseTcp: true,
      iceFilterCandidatePair: (pair) => pair.localCandidate.transport === 'tcp' && pair.localCandidate.tcptype === 'active',
      iceFilterStunResponse: (_message, _addr, protocol) => protocol.type === 'tcp',
    },
  );
}

function framed(data: Buffer): Buffer {
  const header = Buffer.alloc(2);
  header.writeUInt16BE(data.length);
  return Buffer.concat([header, data]);
}

async function sendAndWaitClose(bytes: Buffer): Promise<void> {
  const socket: Socket = connect(tcp.port, '127.0.0.1');
  socket.on('error', () => undefined);
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  socket.write(bytes);
  await new Promise<void>((resolve) => socket.once('close', () => resolve()));
}

const tcpSockets = () => process.getActiveResourcesInfo().filter((kind) => kind === 'TCPSocketWrap').length;

test('a client reaches a peer connection over ICE-TCP on the shared TCP port, and nothing is left after close', async () => {
  const socketsBefore = tcpSockets();
  const server = createPeerConnection(defaultSfuOptions, {}, { udp, tcp });
  const client = tcpOnlyClient();
  open.push(server, client);
  let serverChannel: RTCDataChannel | undefined;
  server.onDataChannel.subscribe((channel) => (serverChannel = channel));
  const clientChannel = client.createDataChannel('test');
  await client.setLocalDescription(await client.createOffer());
  await server.setRemoteDescription(client.localDescription!);
  await server.setLocalDescription(await server.createAnswer());
  const sdp = server.localDescription!.sdp;
  expect(sdp).toMatch(new RegExp(`a=candidate:\\S+ 1 tcp \\d+ 127\\.0\\.0\\.1 ${tcp.port} typ host tcptype passive`));
  expect(sdp).toMatch(new RegExp(`a=candidate:\\S+ 1 udp \\d+ 127\\.0\\.0\\.1 ${udp.port} typ host`));
  await client.setRemoteDescription(server.localDescription!);
  await waitUntil(() => clientChannel.readyState === 'open' && serverChannel !== undefined, 15_000, 'data channel over ICE-TCP');
  const got: string[] = [];
  serverChannel!.onMessage.subscribe((message) => got.push(String(message)));
  clientChannel.send('over tcp');
  await waitUntil(() => got.includes('over tcp'), 5000, 'message over ICE-TCP');
  expect(tcp.accepted).toBeGreaterThanOrEqual(1);
  // The server's selected pair is the TCP one (its checks to the client's UDP candidate went unanswered).
  expect(server.iceTransports[0].connection.nominated?.localCandidate.transport).toBe('tcp');
  expect(tcpSockets()).toBeGreaterThan(socketsBefore);
  await closeAll();
  expect(udp.dump()).toEqual({ sessions: 0, ufrags: [], addresses: [] });
  expect(tcp.pendingCount).toBe(0);
  // werift destroys the connection it was handed (and the client its own) when the peer connections close.
  await waitUntil(() => tcpSockets() === socketsBefore, 5000, 'TCP sockets closed');
});

test('connections whose first frame is garbage, names no known ufrag or fails MESSAGE-INTEGRITY are closed and counted', async () => {
  const server = createPeerConnection(defaultSfuOptions, {}, { udp, tcp });
  open.push(server);
  server.createDataChannel('x');
  await server.setLocalDescription(await server.createOffer());
  const ufrag = server.iceTransports[0].connection.localUsername;
  const before = { ...tcp.dropped };
  await sendAndWaitClose(Buffer.from([0xff, 0xff, 1, 2, 3])); // a frame longer than any binding request
  await sendAndWaitClose(framed(randomBytes(100)));
  await sendAndWaitClose(framed(stunBindingRequest('nobody0000000000:x', 'password-password-1234')));
  await sendAndWaitClose(framed(stunBindingRequest(`${ufrag}:x`, 'not-the-password-at-all')));
  expect(tcp.dropped.malformed).toBe(before.malformed + 2);
  expect(tcp.dropped.unknown).toBe(before.unknown + 1);
  expect(tcp.dropped.bad_integrity).toBe(before.bad_integrity + 1);
  expect(tcp.pendingCount).toBe(0);
});
