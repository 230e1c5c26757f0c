// Over TLS, each TURN message the server sends is a TLS record of its own, also when its writes
// queue behind a slow client. TLS is a byte stream and clients ought to frame by length (RFC 8656
// §12.5), but coturn's turnutils_uclient takes each SSL_read (one record) as one message and drops
// the rest: when Node flushed queued writes in one SSL_write, it counted 1,997 of 2,000 (issue 7).
//
// A proxy between a TLS 1.2 client and the server reads the record headers (plaintext on the wire)
// and can stop reading from the server, so that the server's writes queue up until it drops past
// its per-connection backlog: every queued message then goes through the flush that used to batch.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TurnServer } from '../../../turn/index.js';
import { decodeText, decodeXorAddress, encodeXorAddress } from '../../../turn/stun/attributes.js';
import { MessageBuilder } from '../../../turn/stun/builder.js';
import { Attr, Method, StunClass, messageType } from '../../../turn/stun/constants.js';
import { longTermKey } from '../../../turn/stun/integrity.js';
import { decodeStunMessage, findAttribute, type StunMessage } from '../../../turn/stun/message.js';
import { TcpFramer } from '../../../turn/tcp-framer.js';
import { errorCode } from './client.js';
import { REALM, USERS, startLoopbackServer } from './tools.js';
import { waitUntil } from '../../helpers/bot.js';

/** TLS 1.2 with AES-GCM: an application-data record is an 8-byte explicit nonce, the plaintext, a 16-byte tag. */
const CIPHER = 'ECDHE-RSA-AES128-GCM-SHA256';
const GCM_OVERHEAD = 8 + 16;
const APPLICATION_DATA = 23;
const PAYLOAD = 4000;
const CHANNEL = 0x4001;


/** A TCP proxy that logs the plaintext length of each application-data record the server sends. */
class RecordProxy {
  readonly records: number[] = [];
  readonly #server: net.Server;
  #upstream: net.Socket | null = null;
  #pending = Buffer.alloc(0);

  private constructor(server: net.Server) {
    this.#server = server;
  }

  static async open(targetPort: number): Promise<RecordProxy> {
    const server = net.createServer();
    const proxy = new RecordProxy(server);
    server.on('connection', (client) => {
      const upstream = net.connect(targetPort, '127.0.0.1');
      proxy.#upstream = upstream;
      client.pipe(upstream);
      upstream.on('data', (chunk: Buffer) => {
        proxy.#scan(chunk);
        client.write(chunk);
      });
      upstream.on('close', () => client.destroy());
      client.on('close', () => upstream.destroy());
      upstream.on('error', () => client.destroy());
      client.on('error', () => upstream.destroy());
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  get port(): number {
    return (this.#server.address() as net.AddressInfo).port;
  }

  /** Stop (true) or resume (false) reading what the server sends. */
  hold(on: boolean): void {
    if (on) this.#upstream?.pause();
    else this.#upstream?.resume();
  }

  close(): Promise<void> {
    this.#upstream?.destroy();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }

  #scan(chunk: Buffer): void {
    let buf = Buffer.concat([this.#pending, chunk]);
    while (buf.length >= 5 && buf.length >= 5 + buf.readUInt16BE(3)) {
      const length = buf.readUInt16BE(3);
      if (buf[0] === APPLICATION_DATA) this.records.push(length - GCM_OVERHEAD);
      buf = buf.subarray(5 + length);
    }
    this.#pending = Buffer.from(buf);
  }
}

/** A TURN client on one TLS connection: signed requests, and the ChannelData it receives. */
class TlsTurnClient {
  readonly channelData: Buffer[] = [];
  readonly #socket: tls.TLSSocket;
  readonly #framer = new TcpFramer();
  readonly #waiting = new Map<string, (m: StunMessage) => void>();
  #nonce = '';

  private constructor(socket: tls.TLSSocket) {
    this.#socket = socket;
    socket.on('data', (chunk: Buffer) => {
      this.#framer.push(chunk);
      for (let f = this.#framer.next(); f !== null; f = this.#framer.next()) {
        if ((f[0] & 0xc0) === 0x40) this.channelData.push(Buffer.from(f.subarray(4, 4 + f.readUInt16BE(2))));
        else {
          const m = decodeStunMessage(Buffer.from(f));
          if (m) this.#waiting.get(m.transactionId.toString('hex'))?.(m);
        }
      }
    });
  }

  static async connect(port: number): Promise<TlsTurnClient> {
    const socket = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, maxVersion: 'TLSv1.2', ciphers: CIPHER });
    await new Promise<void>((resolve, reject) => {
      socket.once('secureConnect', resolve);
      socket.once('error', reject);
    });
    return new TlsTurnClient(socket);
  }

  /** A request signed with alice's long-term credentials (after the 401 that brings the nonce). */
  async request(method: number, attrs: (tid: Buffer) => Array<[number, Buffer]>): Promise<StunMessage> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const tid = randomBytes(12);
      const b = new MessageBuilder(messageType(method, StunClass.Request), tid);
      for (const [t, v] of attrs(tid)) b.add(t, v);
      if (this.#nonce) b.addText(Attr.Username, 'alice').addText(Attr.Realm, REALM).addText(Attr.Nonce, this.#nonce);
      const msg = b.finish({ integrityKey: this.#nonce ? longTermKey('alice', REALM, USERS.alice) : undefined, fingerprint: true });
      const res = await new Promise<StunMessage>((resolve) => {
        this.#waiting.set(tid.toString('hex'), resolve);
        this.#socket.write(msg);
      });
      this.#waiting.delete(tid.toString('hex'));
      const nonce = findAttribute(res, Attr.Nonce);
      if (errorCode(res) === 401 && nonce && !this.#nonce) {
        this.#nonce = decodeText(res, nonce, 763) ?? '';
        continue;
      }
      return res;
    }
    throw new Error('no answer after three attempts');
  }

  close(): void {
    this.#socket.destroy();
  }
}

describe('TURN over TLS: one TLS record per message', () => {
  const certDir = mkdtempSync(join(tmpdir(), 'turn-tls-records-'));
  let server: TurnServer;
  let proxy: RecordProxy;
  let client: TlsTurnClient;
  let peer: dgram.Socket;

  beforeAll(async () => {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost',
      '-keyout', join(certDir, 'key.pem'), '-out', join(certDir, 'cert.pem')], { stdio: 'ignore' });
    server = await startLoopbackServer({
      threads: 1,
      udpPort: -1,
      tcpPort: -1,
      bandwidthBytesPerSecond: 0,
      tls: { cert: join(certDir, 'cert.pem'), key: join(certDir, 'key.pem'), port: 0 },
    });
    proxy = await RecordProxy.open(server.addresses.tls!.port);
    client = await TlsTurnClient.connect(proxy.port);
    peer = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => peer.bind(0, '127.0.0.1', resolve));
  });

  afterAll(async () => {
    client?.close();
    peer?.close();
    await proxy?.close();
    await server?.close();
    rmSync(certDir, { recursive: true, force: true });
  });

  it('keeps messages in records of their own while writes queue behind a client that does not read', async () => {
    const allocated = await client.request(Method.Allocate, () => [[Attr.RequestedTransport, Buffer.from([17, 0, 0, 0])]]);
    expect(errorCode(allocated)).toBeNull();
    const relay = decodeXorAddress(allocated, findAttribute(allocated, Attr.XorRelayedAddress)!)!;
    const peerAddress = { family: 4 as const, address: '127.0.0.1', port: peer.address().port };
    const bound = await client.request(Method.ChannelBind, (tid) => [
      [Attr.ChannelNumber, Buffer.from([CHANNEL >> 8, CHANNEL & 0xff, 0, 0])],
      [Attr.XorPeerAddress, encodeXorAddress(peerAddress, tid)],
    ]);
    expect(errorCode(bound)).toBeNull();
    const setupRecords = proxy.records.length;

    // Hold the server's output until it has queued past its backlog and dropped (kernel buffers
    // first fill, then Node's write queue): then messages certainly waited in that queue.
    proxy.hold(true);
    let sent = 0;
    await waitUntil(
      () => {
        if (server.stats().dropped > 0) return true;
        for (let i = 0; i < 20; i++) {
          const data = Buffer.alloc(PAYLOAD, sent & 0xff);
          data.writeUInt32BE(sent++, 0);
          peer.send(data, relay.port, relay.address);
        }
        return false;
      },
      20_000,
      'the server to drop relayed data for a client that does not read',
    );
    proxy.hold(false);
    // Everything relayed but not dropped reaches the client.
    await waitUntil(() => client.channelData.length === server.stats().packetsToClient - server.stats().dropped, 20_000, 'the queued data to arrive');

    const dataRecords = proxy.records.slice(setupRecords);
    expect(dataRecords.length).toBe(client.channelData.length);
    const wrong = dataRecords.filter((length) => length !== 4 + PAYLOAD);
    expect(wrong, `records that do not hold exactly one ChannelData message: ${wrong.slice(0, 5).join(', ')}`).toEqual([]);
    // In order, intact.
    const numbers = client.channelData.map((d) => d.readUInt32BE(0));
    for (let i = 1; i < numbers.length; i++) expect(numbers[i]).toBeGreaterThan(numbers[i - 1]);
    expect(client.channelData.every((d) => d.length === PAYLOAD)).toBe(true);
  });
});
