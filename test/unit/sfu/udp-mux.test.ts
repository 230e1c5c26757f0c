import { createSocket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import type { RTCDataChannel, RTCPeerConnection } from 'werift';
import { closePeerConnection, createPeerConnection } from '../../../sfu/peer/peer-factory.js';
import { hasValidIntegrity, readBindingRequest } from '../../../sfu/peer/stun-binding-request.js';
import { addressKey, UdpDemuxTable } from '../../../sfu/peer/udp-demux-table.js';
import { UdpMux } from '../../../sfu/peer/udp-mux.js';
import { defaultSfuOptions } from '../../../sfu/sfu-options.js';
import { waitUntil } from '../../helpers/bot.js';
import { stunBindingRequest } from '../../helpers/stun-request.js';

describe('UdpDemuxTable', () => {
  test('a session\'s new ufrag replaces its old one, and a ufrag held by another session is refused', () => {
    const table = new UdpDemuxTable<string>();
    table.setUfrag('a', 'u1');
    table.setUfrag('a', 'u2');
    expect(table.byUfrag('u1')).toBeUndefined();
    expect(table.byUfrag('u2')).toBe('a');
    expect(() => table.setUfrag('b', 'u2')).toThrow(/another session/);
    expect(table.keys().ufrags).toEqual(['u2']);
  });

  test('an address moves to another session only when taken, and each session keeps at most its cap', () => {
    const table = new UdpDemuxTable<string>(3);
    expect(table.bindAddress('a', addressKey('10.0.0.1', 5000), false)).toBe(true);
    expect(table.bindAddress('b', addressKey('10.0.0.1', 5000), false)).toBe(false);
    expect(table.byAddress(addressKey('10.0.0.1', 5000))).toBe('a');
    expect(table.bindAddress('b', addressKey('10.0.0.1', 5000), true)).toBe(true);
    expect(table.byAddress(addressKey('10.0.0.1', 5000))).toBe('b');
    expect(table.addressesOf('a')).toEqual([]);
    for (let port = 1; port <= 5; port++) table.bindAddress('c', addressKey('10.0.0.2', port), false);
    // The two oldest were forgotten.
    expect(table.addressesOf('c')).toEqual(['10.0.0.2/3', '10.0.0.2/4', '10.0.0.2/5']);
    expect(table.byAddress('10.0.0.2/1')).toBeUndefined();
  });

  test('removing every session leaves both maps empty', () => {
    const table = new UdpDemuxTable<string>();
    for (const s of ['a', 'b', 'c']) {
      table.setUfrag(s, `u-${s}`);
      for (let port = 1; port <= 10; port++) table.bindAddress(s, addressKey(`10.0.0.${s.charCodeAt(0)}`, port), false);
    }
    expect(table.sizes).toEqual({ ufrags: 3, addresses: 30 });
    for (const s of ['a', 'b', 'c']) table.remove(s);
    table.remove('a'); // twice: no effect
    expect(table.sizes).toEqual({ ufrags: 0, addresses: 0 });
  });
});

describe('STUN binding request reader', () => {
  test('reads the receiver\'s ufrag and checks MESSAGE-INTEGRITY with its password', () => {
    const data = stunBindingRequest('serverUfrag:clientUfrag', 'the-server-password-xyz');
    const request = readBindingRequest(data)!;
    expect(request.localUfrag).toBe('serverUfrag');
    expect(hasValidIntegrity(data, request, 'the-server-password-xyz')).toBe(true);
    expect(hasValidIntegrity(data, request, 'another-password-xxxxxx')).toBe(false);
    const tampered = Buffer.from(data);
    tampered[25] ^= 1; // a byte of USERNAME
    expect(hasValidIntegrity(tampered, readBindingRequest(tampered)!, 'the-server-password-xyz')).toBe(false);
  });

  test('truncated, mislabelled and random datagrams are not binding requests, and none throws', () => {
    const data = stunBindingRequest('abcd:efgh', 'password-password-1234');
    for (let length = 0; length < data.length; length++) expect(() => readBindingRequest(data.subarray(0, length))).not.toThrow();
    expect(readBindingRequest(data.subarray(0, 30))).toBeUndefined();
    const response = Buffer.from(data);
    response.writeUInt16BE(0x0101, 0); // a binding success response
    expect(readBindingRequest(response)).toBeUndefined();
    const badLength = Buffer.from(data);
    badLength.writeUInt16BE(0xfff0, 22); // USERNAME longer than the message
    expect(readBindingRequest(badLength)).toBeUndefined();
    for (let i = 0; i < 20_000; i++) {
      const random = randomBytes(20 + (i % 200));
      random[0] = 0;
      random[1] = 1;
      if (i % 2) random.writeUInt32BE(0x2112a442, 4);
      const request = readBindingRequest(random);
      if (request) expect(() => hasValidIntegrity(random, request, 'x')).not.toThrow();
    }
  });
});

describe('UdpMux with werift peer connections', () => {
  let mux: UdpMux;
  const clientOptions = { ...defaultSfuOptions, portMin: 45000, portMax: 45999 };
  beforeAll(async () => {
    mux = await UdpMux.open('127.0.0.1', 0);
  });
  afterAll(async () => {
    await mux?.close();
  });

  /** A client (its own port) connected to a server-side connection on the mux, with a data channel. */
  const open: RTCPeerConnection[] = [];
  const closeAll = () => Promise.all(open.splice(0).map((pc) => closePeerConnection(pc)));
  afterEach(closeAll);

  async function connectPair(): Promise<{ server: RTCPeerConnection; client: RTCPeerConnection; serverChannel: () => RTCDataChannel | undefined; clientChannel: RTCDataChannel }> {
    const server = createPeerConnection(defaultSfuOptions, {}, { udp: mux });
    const client = createPeerConnection(clientOptions);
    open.push(server, client);
    let serverChannel: RTCDataChannel | undefined;
    server.onDataChannel.subscribe((channel) => (serverChannel = channel));
    const clientChannel = client.createDataChannel('test');
    await client.setLocalDescription(await client.createOffer());
    await server.setRemoteDescription(client.localDescription!);
    await server.setLocalDescription(await server.createAnswer());
    await client.setRemoteDescription(server.localDescription!);
    await waitUntil(() => server.connectionState === 'connected' && clientChannel.readyState === 'open', 10_000, 'connected');
    return { server, client, serverChannel: () => serverChannel, clientChannel };
  }

  const ufragOf = (pc: RTCPeerConnection) => pc.iceTransports[0].connection.localUsername;

  test('connections share the port, each with its own 16-character ufrag, and nothing is routed after they close', async () => {
    const pairs = [await connectPair(), await connectPair()];
    for (const { server } of pairs) {
      expect(server.localDescription!.sdp).toContain(`a=ice-ufrag:${ufragOf(server)}`);
      expect(ufragOf(server)).toHaveLength(16);
      expect(server.localDescription!.sdp).toMatch(new RegExp(`a=candidate:\\S+ 1 udp \\d+ 127\\.0\\.0\\.1 ${mux.port} typ host`));
    }
    const dump = mux.dump();
    expect(dump.sessions).toBe(2);
    expect(dump.ufrags.sort()).toEqual(pairs.map(({ server }) => ufragOf(server)).sort());
    // Each client's one address is routed to its connection.
    expect(dump.addresses).toHaveLength(2);
    for (const { clientChannel, serverChannel } of pairs) {
      const got: string[] = [];
      await waitUntil(() => serverChannel() !== undefined, 5000, 'server channel');
      serverChannel()!.onMessage.subscribe((m) => got.push(String(m)));
      clientChannel.send('hello');
      await waitUntil(() => got.includes('hello'), 5000, 'message through the mux');
    }
    await closeAll();
    expect(mux.dump()).toEqual({ sessions: 0, ufrags: [], addresses: [] });
  });

  test('an ICE restart gives the connection a new ufrag on the port, which routes to it, and the old one routes nothing', async () => {
    const { server, client } = await connectPair();
    const before = ufragOf(server);
    await client.setLocalDescription(await client.createOffer({ iceRestart: true }));
    await server.setRemoteDescription(client.localDescription!);
    await server.setLocalDescription(await server.createAnswer());
    await client.setRemoteDescription(server.localDescription!);
    const after = ufragOf(server);
    expect(after).not.toBe(before);
    expect(after).toHaveLength(16);
    expect(server.localDescription!.sdp).toContain(`a=ice-ufrag:${after}`);
    expect(server.localDescription!.sdp).toContain(` ${mux.port} typ host`);
    expect(mux.dump().ufrags).toEqual([after]);
    // ICE checks with the new credentials succeed through the port: a pair is nominated again (a restart clears it).
    await waitUntil(() => server.iceTransports[0].connection.nominated !== undefined, 10_000, 'a pair nominated after the restart');
    const password = server.iceTransports[0].connection.localPassword;
    // A check naming the new ufrag from a new address is answered by the connection, and the address is its own now.
    const probe = createSocket('udp4');
    await new Promise<void>((resolve) => probe.bind(0, '127.0.0.1', resolve));
    const answered = new Promise<Buffer>((resolve) => probe.once('message', resolve));
    probe.send(stunBindingRequest(`${after}:probe`, password), mux.port, '127.0.0.1');
    expect((await answered).readUInt16BE(0)).toBe(0x0101); // binding success response
    expect(mux.dump().addresses).toContain(addressKey('127.0.0.1', probe.address().port));
    probe.close();
    // One naming the old ufrag from an unknown address reaches nobody.
    const stranger = createSocket('udp4');
    const dropped = mux.dropped.unknown;
    stranger.send(stunBindingRequest(`${before}:zzzz`, password), mux.port, '127.0.0.1');
    await waitUntil(() => mux.dropped.unknown > dropped, 5000, 'the stale check dropped');
    stranger.close();
    await closeAll();
    expect(mux.dump()).toEqual({ sessions: 0, ufrags: [], addresses: [] });
  });

  test('garbage and forged checks are dropped and counted, and the connection goes on', async () => {
    const { server, clientChannel, serverChannel } = await connectPair();
    const ufrag = ufragOf(server);
    const before = { ...mux.dropped };
    const attacker = createSocket('udp4');
    await new Promise<void>((resolve) => attacker.bind(0, '127.0.0.1', resolve));
    for (let i = 0; i < 500; i++) {
      const junk = randomBytes(1 + (i % 1200));
      junk[0] = [0x00, 0x01, 0x16, 0x80, 0x90][i % 5];
      attacker.send(junk, mux.port, '127.0.0.1');
    }
    // The right ufrag with a wrong password: it must not take the attacker's address into the connection.
    attacker.send(stunBindingRequest(`${ufrag}:evil`, 'not-the-password-at-all'), mux.port, '127.0.0.1');
    await waitUntil(() => mux.dropped.unknown >= before.unknown + 500 && mux.dropped.bad_integrity === before.bad_integrity + 1, 5000, 'drops counted');
    const attackerAddress = addressKey('127.0.0.1', attacker.address().port);
    expect(mux.dump().addresses).not.toContain(attackerAddress);
    attacker.close();
    const got: string[] = [];
    serverChannel()!.onMessage.subscribe((m) => got.push(String(m)));
    clientChannel.send('still here');
    await waitUntil(() => got.includes('still here'), 5000, 'message after the garbage');
    await closeAll();
    expect(mux.dump()).toEqual({ sessions: 0, ufrags: [], addresses: [] });
  });

  test('a connection closed before it gathered leaves nothing on the port', async () => {
    const server = createPeerConnection(defaultSfuOptions, {}, { udp: mux });
    server.createDataChannel('x');
    await server.createOffer();
    expect(mux.dump().sessions).toBe(1);
    await closePeerConnection(server);
    expect(mux.dump()).toEqual({ sessions: 0, ufrags: [], addresses: [] });
  });
});
