// Fuzzing the real server over loopback sockets with fast-check: random datagrams, datagrams
// mutated from valid messages, correctly signed requests with random attributes, and TCP byte
// streams. Nothing may escape a handler, and the server must still answer a Binding afterwards.
// Safety: the only peer the server may relay to is 127.0.0.1, and generated messages that would
// relay to any port but our sink's are filtered out, so no stray traffic reaches other local ports.
import dgram from 'node:dgram';
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TurnServer } from '../../../turn/index.js';
import { MessageBuilder } from '../../../turn/stun/builder.js';
import { Attr, Method, StunClass, messageType } from '../../../turn/stun/constants.js';
import { decodeText, decodeXorAddress, encodeXorAddress } from '../../../turn/stun/attributes.js';
import { longTermKey } from '../../../turn/stun/integrity.js';
import { decodeStunMessage, findAttribute } from '../../../turn/stun/message.js';
import { scanSendIndication, type SendFields } from '../../../turn/stun/relay-codec.js';
import { REALM, USERS, startLoopbackServer } from './tools.js';

const DATAGRAM_RUNS = 500;
const DATAGRAMS_PER_RUN = 200; // 100,000 datagrams
const TCP_STREAMS = 2000;

let server: TurnServer;
let client: dgram.Socket;
let sink: dgram.Socket;
let sinkPort: number;
let nonce = '';
const waiting = new Map<string, () => void>();
let answers = 0;

function request(method: number, attrs: Array<[number, Buffer]>, signed: boolean, tid = randomBytes(12), cls = StunClass.Request): Buffer {
  const b = new MessageBuilder(messageType(method, cls), tid);
  for (const [t, v] of attrs) b.add(t, v);
  if (!signed) return b.finish({ fingerprint: true });
  b.addText(Attr.Username, 'alice').addText(Attr.Realm, REALM).addText(Attr.Nonce, nonce);
  return b.finish({ integrityKey: longTermKey('alice', REALM, USERS.alice), fingerprint: true });
}

/** Sends and waits for the response with the same transaction ID. */
function exchange(msg: Buffer, timeoutMs = 3000): Promise<boolean> {
  const tid = msg.toString('hex', 8, 20);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      waiting.delete(tid);
      resolve(false);
    }, timeoutMs);
    waiting.set(tid, () => {
      clearTimeout(timer);
      resolve(true);
    });
    client.send(msg, server.addresses.udp!.port, '127.0.0.1');
  });
}

const sinkAddr = (tid: Buffer): Buffer => encodeXorAddress({ family: 4, address: '127.0.0.1', port: sinkPort }, tid);
const channel = (n: number): Buffer => Buffer.from([n >> 8, n & 0xff, 0, 0]);

beforeAll(async () => {
  server = await startLoopbackServer({ unauthenticatedRateLimit: { perSecond: 0, burst: 1 }, bandwidthBytesPerSecond: 0 });
  sink = dgram.createSocket('udp4');
  await new Promise<void>((r) => sink.bind(0, '127.0.0.1', () => r()));
  sinkPort = sink.address().port;
  client = dgram.createSocket('udp4');
  client.on('message', (msg) => {
    const m = decodeStunMessage(msg);
    if (!m) return;
    answers++;
    const n = findAttribute(m, Attr.Nonce);
    if (n) nonce = decodeText(m, n, 763) ?? nonce;
    waiting.get(m.transactionId.toString('hex'))?.();
  });
  await new Promise<void>((r) => client.bind(0, '127.0.0.1', () => r()));
  // A real allocation with a permission and a channel toward the sink, so fast paths run deep.
  expect(await exchange(request(Method.Allocate, [[Attr.RequestedTransport, Buffer.from([17, 0, 0, 0])]], false))).toBe(true);
  expect(await exchange(request(Method.Allocate, [[Attr.RequestedTransport, Buffer.from([17, 0, 0, 0])], [Attr.Lifetime, Buffer.from([0, 0, 0x0e, 0x10])]], true))).toBe(true);
  const tid = randomBytes(12);
  expect(await exchange(request(Method.ChannelBind, [[Attr.ChannelNumber, channel(0x4000)], [Attr.XorPeerAddress, sinkAddr(tid)]], true, tid))).toBe(true);
  expect(server.stats().allocations).toBe(1);
});

afterAll(async () => {
  await server.close();
  client.close();
  sink.close();
});

function seeds(): Buffer[] {
  const tid = randomBytes(12);
  const payload = Buffer.from('fuzz payload bytes');
  const cd = Buffer.alloc(4 + payload.length);
  cd.writeUInt16BE(0x4000, 0);
  cd.writeUInt16BE(payload.length, 2);
  payload.copy(cd, 4);
  return [
    request(Method.Binding, [], false),
    request(Method.Allocate, [[Attr.RequestedTransport, Buffer.from([17, 0, 0, 0])], [Attr.EvenPort, Buffer.from([0x80])]], false),
    request(Method.Allocate, [[Attr.RequestedTransport, Buffer.from([17, 0, 0, 0])], [Attr.RequestedAddressFamily, Buffer.from([1, 0, 0, 0])]], true),
    request(Method.Refresh, [[Attr.Lifetime, Buffer.from([0, 0, 0x0e, 0x10])]], true),
    request(Method.CreatePermission, [[Attr.XorPeerAddress, sinkAddr(tid)]], true, tid),
    request(Method.ChannelBind, [[Attr.ChannelNumber, channel(0x4000)], [Attr.XorPeerAddress, sinkAddr(tid)]], true, tid),
    request(Method.Send, [[Attr.XorPeerAddress, sinkAddr(tid)], [Attr.Data, payload]], false, tid, StunClass.Indication),
    cd,
  ];
}

const SEEDS = { list: [] as Buffer[] };

const mutation = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('length' as const), value: fc.integer({ min: 0, max: 0xffff }) }),
  fc.record({ kind: fc.constant('append' as const), bytes: fc.uint8Array({ maxLength: 40 }) }),
  fc.record({ kind: fc.constant('overwrite' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 4 }) }),
);

type Mutation = typeof mutation extends fc.Arbitrary<infer T> ? T : never;

function mutate(seed: Buffer, mutations: Mutation[]): Buffer {
  let b = Buffer.from(seed);
  for (const m of mutations) {
    if (b.length === 0) break;
    if (m.kind === 'flip') b[m.at % b.length] ^= 1 << m.bit;
    else if (m.kind === 'truncate') b = b.subarray(0, m.at % b.length);
    else if (m.kind === 'length' && b.length >= 4) b.writeUInt16BE(m.value, 2);
    else if (m.kind === 'append') b = Buffer.concat([b, m.bytes]);
    else if (m.kind === 'overwrite') Buffer.from(m.bytes).copy(b, m.at % b.length);
  }
  return b;
}

/** Attribute types the handlers read, plus random ones; XOR-PEER-ADDRESS only ever names the sink. */
const attribute = fc.oneof(
  fc.tuple(
    fc.oneof(
      fc.constantFrom(Attr.RequestedTransport, Attr.Lifetime, Attr.ChannelNumber, Attr.EvenPort, Attr.ReservationToken, Attr.RequestedAddressFamily, Attr.AdditionalAddressFamily, Attr.DontFragment, Attr.Data),
      fc.integer({ min: 0, max: 0xffff }).filter((t) => t !== Attr.XorPeerAddress),
    ),
    fc.uint8Array({ maxLength: 24 }).map((u) => Buffer.from(u)),
  ),
  fc.constant<[number, Buffer] | 'peer'>('peer'),
);

const signedRequest = fc
  .tuple(fc.constantFrom(Method.Allocate, Method.Refresh, Method.CreatePermission, Method.ChannelBind, Method.Binding, 0x00a), fc.array(attribute, { maxLength: 6 }))
  .map(([method, attrs]) => {
    const tid = randomBytes(12);
    return request(method, attrs.map((a) => (a === 'peer' ? ([Attr.XorPeerAddress, sinkAddr(tid)] as [number, Buffer]) : a)), true, tid);
  });

const fields: SendFields = { peerOffset: 0, peerLength: 0, dataOffset: 0, dataLength: 0, unknownRequired: false };
/** True unless the bytes are a Send indication that could relay somewhere other than the sink. */
function safe(b: Buffer): boolean {
  if (b.length < 20 || b.readUInt16BE(0) !== 0x0016 || !scanSendIndication(b, b.length, fields) || fields.peerOffset < 0) return true;
  const peer = decodeXorAddress({ buf: b } as never, { type: Attr.XorPeerAddress, offset: fields.peerOffset, length: fields.peerLength });
  return peer === null || peer.port === sinkPort;
}

const datagram = fc
  .oneof(
    { weight: 3, arbitrary: fc.uint8Array({ maxLength: 300 }).map((u) => Buffer.from(u)) },
    { weight: 5, arbitrary: fc.tuple(fc.nat(), fc.array(mutation, { minLength: 1, maxLength: 4 })).map(([i, ms]) => mutate(SEEDS.list[i % SEEDS.list.length], ms)) },
    { weight: 2, arbitrary: signedRequest },
  )
  .filter(safe);

describe('TURN server fuzzing over loopback', () => {
  it(`survives ${DATAGRAM_RUNS * DATAGRAMS_PER_RUN} random and mutated UDP datagrams and keeps answering Binding`, async () => {
    SEEDS.list = seeds();
    await fc.assert(
      fc.asyncProperty(fc.array(datagram, { minLength: DATAGRAMS_PER_RUN, maxLength: DATAGRAMS_PER_RUN }), async (batch) => {
        for (const d of batch) client.send(d, server.addresses.udp!.port, '127.0.0.1');
        return exchange(request(Method.Binding, [], false));
      }),
      { numRuns: DATAGRAM_RUNS, endOnFailure: true },
    );
    expect(server.stats().handlerErrors).toBe(0);
    // The fuzz reached the handlers: a good share of the datagrams were answered.
    expect(answers).toBeGreaterThan(DATAGRAM_RUNS * DATAGRAMS_PER_RUN * 0.1);
  }, 120_000);

  it(`survives ${TCP_STREAMS} random TCP byte streams and still answers Binding over TCP`, async () => {
    SEEDS.list = seeds();
    const stream = fc.array(datagram, { minLength: 1, maxLength: 30 }).chain((frames) =>
      fc.tuple(fc.constant(Buffer.concat(frames)), fc.array(fc.nat(), { maxLength: 5 })),
    );
    await fc.assert(
      fc.asyncProperty(stream, async ([bytes, cuts]) => {
        const socket = net.connect(server.addresses.tcp!.port, '127.0.0.1');
        socket.on('error', () => undefined);
        socket.resume(); // read (and discard) responses, so the server's FIN is seen
        await new Promise<void>((r) => socket.once('connect', () => r()).once('close', () => r()));
        let pos = 0;
        for (const c of [...cuts.map((c) => c % (bytes.length + 1)).sort((a, b) => a - b), bytes.length]) {
          if (c > pos && !socket.destroyed) socket.write(bytes.subarray(pos, c));
          pos = Math.max(pos, c);
        }
        socket.end();
        await new Promise<void>((r) => {
          if (socket.closed) return r();
          const timer = setTimeout(() => {
            socket.destroy();
            r();
          }, 1000);
          socket.once('close', () => {
            clearTimeout(timer);
            r();
          });
        });
        return true;
      }),
      { numRuns: TCP_STREAMS, endOnFailure: true },
    );
    const socket = net.connect(server.addresses.tcp!.port, '127.0.0.1');
    const answer = await new Promise<Buffer>((resolve, reject) => {
      socket.once('data', resolve);
      socket.once('error', reject);
      socket.write(request(Method.Binding, [], false));
    });
    socket.destroy();
    expect(decodeStunMessage(answer)?.cls).toBe(StunClass.SuccessResponse);
    expect(server.stats().handlerErrors).toBe(0);
    expect(await exchange(request(Method.Binding, [], false))).toBe(true);
  }, 120_000);
});
