// Server lifecycle: close() is idempotent and releases every socket, allocation and metric;
// a listener that cannot bind makes start fail without leaking the ones already bound.
import dgram from 'node:dgram';
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { startTurnServer } from '../../../turn/index.js';
import { MessageBuilder } from '../../../turn/stun/builder.js';
import { Attr, Method, StunClass, messageType } from '../../../turn/stun/constants.js';
import { decodeText } from '../../../turn/stun/attributes.js';
import { longTermKey } from '../../../turn/stun/integrity.js';
import { decodeStunMessage, findAttribute } from '../../../turn/stun/message.js';
import { REALM, USERS, loopbackConfig } from './tools.js';

function allocate(nonce?: string): Buffer {
  const b = new MessageBuilder(messageType(Method.Allocate, StunClass.Request), randomBytes(12)).add(Attr.RequestedTransport, Buffer.from([17, 0, 0, 0]));
  if (!nonce) return b.finish({ fingerprint: true });
  b.addText(Attr.Username, 'alice').addText(Attr.Realm, REALM).addText(Attr.Nonce, nonce);
  return b.finish({ integrityKey: longTermKey('alice', REALM, USERS.alice), fingerprint: true });
}

function ask(socket: dgram.Socket, port: number, msg: Buffer) {
  return new Promise<ReturnType<typeof decodeStunMessage>>((resolve) => {
    socket.once('message', (m) => resolve(decodeStunMessage(m)));
    socket.send(msg, port, '127.0.0.1');
  });
}

describe('TURN server lifecycle', () => {
  it('close() releases allocations, relay sockets, listeners and metrics, and can be called twice', async () => {
    const registry = new Registry();
    const server = await startTurnServer(loopbackConfig(), { logger: pino({ level: 'silent' }), registry });
    const client = dgram.createSocket('udp4');
    await new Promise<void>((r) => client.bind(0, '127.0.0.1', () => r()));
    const port = server.addresses.udp!.port;
    const challenge = (await ask(client, port, allocate()))!;
    const nonce = decodeText(challenge, findAttribute(challenge, Attr.Nonce)!, 763)!;
    const ok = (await ask(client, port, allocate(nonce)))!;
    expect(ok.cls).toBe(StunClass.SuccessResponse);
    expect(server.stats()).toMatchObject({ allocations: 1, relaySockets: 1 });
    expect(await registry.metrics()).toMatch(/tsfu_turn_active_allocations 1/);
    await Promise.all([server.close(), server.close()]);
    await server.close();
    expect(server.stats()).toMatchObject({ allocations: 0, relaySockets: 0, tcpConnections: 0, portsInUse: 0 });
    expect(await registry.metrics()).not.toMatch(/tsfu_turn_/);
    // The ports are free again.
    const again = await startTurnServer(loopbackConfig({ udpPort: port, tcpPort: server.addresses.tcp!.port }), {
      logger: pino({ level: 'silent' }),
      registry,
    });
    await again.close();
    client.close();
  });

  it('fails to start when the TCP port is taken, releasing the UDP listener it had bound', async () => {
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    const taken = (blocker.address() as net.AddressInfo).port;
    const registry = new Registry();
    await expect(startTurnServer(loopbackConfig({ udpPort: taken, tcpPort: taken }), { logger: pino({ level: 'silent' }), registry })).rejects.toThrow(/EADDRINUSE/);
    // UDP port `taken` was released: binding it works.
    const probe = dgram.createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      probe.once('error', reject);
      probe.bind(taken, '127.0.0.1', () => resolve());
    });
    probe.close();
    expect(await registry.metrics()).not.toMatch(/tsfu_turn_/);
    await new Promise<void>((r) => blocker.close(() => r()));
  });
});
