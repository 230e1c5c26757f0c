// TCP and TLS client transports (RFC 8656 §3.1, RFC 8489 §6.2.2-6.2.3), feeding one shard:
// each connection is one 5-tuple, framed by TcpFramer; closing it deletes its allocation.
import net from 'node:net';
import tls from 'node:tls';
import { readFileSync } from 'node:fs';
import type { ClientRef, ClientTransport } from './allocation.js';
import type { TurnTlsConfig } from './config.js';
import type { RelayShard } from './shard.js';
import { TcpFramer } from './tcp-framer.js';

export interface BoundAddress {
  readonly address: string;
  readonly port: number;
}

let nextConnection = 1;

/**
 * One TLS record per TURN message. When writes queue up behind a slow connection, a Writable
 * flushes them through `_writev`, and Node's TLS socket encrypts such a batch with one SSL_write:
 * several messages in one record. TLS is a byte stream and RFC 8656 §12.5 has clients frame by
 * length, but coturn's clients (turnutils_uclient) take each SSL_read, one record, as one message
 * and drop the rest (issue 7: 1,997 of 2,000 received). coturn's server writes one message per
 * SSL_write; without `_writev` the queue is flushed one `_write` (one SSL_write) per chunk, as
 * Node itself does for blocking pipes. A record is at most 16 KiB; larger messages span several.
 */
function oneRecordPerWrite(socket: net.Socket): void {
  (socket as unknown as { _writev: null })._writev = null;
}

function onConnection(shard: RelayShard, transport: ClientTransport) {
  return (socket: net.Socket): void => {
    const key = `${transport}|${nextConnection++}`;
    const client: ClientRef = {
      key,
      transport,
      address: socket.remoteAddress ?? '',
      port: socket.remotePort ?? 0,
      family: socket.remoteFamily === 'IPv6' ? 6 : 4,
      handle: socket,
    };
    const framer = new TcpFramer();
    if (transport === 'tls') oneRecordPerWrite(socket);
    shard.streamOpened(socket);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      try {
        framer.push(chunk);
        for (let frame = framer.next(); frame !== null; frame = framer.next()) shard.streamFrame(client, frame);
        if (framer.error) socket.destroy();
      } catch (err) {
        shard.guard('tcp-data', err);
        socket.destroy();
      }
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => shard.streamClosed(socket, key));
  };
}

async function listen(shard: RelayShard, server: net.Server, host: string, port: number): Promise<BoundAddress> {
  server.on('error', (err) => shard.guard('tcp-listener', err));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port, exclusive: true }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const a = server.address() as net.AddressInfo;
  return { address: a.address, port: a.port };
}

export async function listenTcp(shard: RelayShard, host: string, port: number): Promise<{ server: net.Server; address: BoundAddress }> {
  const server = net.createServer(onConnection(shard, 'tcp'));
  try {
    return { server, address: await listen(shard, server, host, port) };
  } catch (err) {
    server.close();
    throw err;
  }
}

export async function listenTls(shard: RelayShard, host: string, options: TurnTlsConfig): Promise<{ server: tls.Server; address: BoundAddress }> {
  const pem = (v: string): string => (v.includes('-----BEGIN') ? v : readFileSync(v, 'utf8'));
  const server = tls.createServer({ cert: pem(options.cert), key: pem(options.key) }, onConnection(shard, 'tls'));
  server.on('tlsClientError', () => undefined);
  try {
    return { server, address: await listen(shard, server, host, options.port) };
  } catch (err) {
    server.close();
    throw err;
  }
}

export function closeServer(server: net.Server | null): Promise<void> {
  return server ? new Promise((resolve) => server.close(() => resolve())) : Promise.resolve();
}
