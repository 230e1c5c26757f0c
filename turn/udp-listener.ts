// A UDP listener (RFC 8489 §6.2.1) feeding one shard. With reusePort, several threads bind the
// same port and the kernel hashes each datagram's 4-tuple to one of their sockets (SO_REUSEPORT),
// so a client always reaches the same thread.
import dgram from 'node:dgram';
import net from 'node:net';
import { literalLookup, type RelayShard } from './shard.js';

/** Bursts from many clients arrive at once (the kernel caps at net.core.rmem_max / wmem_max). */
const LISTENER_BUFFER = 4 << 20;

export interface UdpListenOptions {
  readonly address: string;
  readonly port: number;
  readonly reusePort: boolean;
  /**
   * Start serving at once (default). A relay thread binds with false and calls serveUdp once every
   * thread has joined the SO_REUSEPORT group: each join re-hashes the clients over the group, so a
   * client served earlier could land on a thread that does not hold its allocation (437). Until
   * then datagrams are read and dropped; STUN clients retransmit.
   */
  readonly serve?: boolean;
}

/** Binds the listener; rejects (with nothing left open) if the port cannot be bound. */
export async function bindUdpListener(shard: RelayShard, options: UdpListenOptions): Promise<dgram.Socket> {
  const type = net.isIPv6(options.address) ? 'udp6' : 'udp4';
  const socket = dgram.createSocket({
    type,
    lookup: literalLookup(type === 'udp6' ? 6 : 4) as never,
    recvBufferSize: LISTENER_BUFFER,
    sendBufferSize: LISTENER_BUFFER,
    // Node >= 22.12; @types/node 20 does not know the option yet.
    ...({ reusePort: options.reusePort } as object),
  });
  if (options.serve !== false) serveUdp(shard, socket);
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind({ address: options.address, port: options.port, exclusive: true }, () => {
        socket.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    try {
      socket.close();
    } catch {
      // never bound
    }
    throw err;
  }
  socket.on('error', (err) => shard.guard('udp-listener', err));
  return socket;
}

export function serveUdp(shard: RelayShard, socket: dgram.Socket): void {
  socket.on('message', (msg, rinfo) => shard.udpMessage(socket, msg, rinfo));
}

export function closeUdp(socket: dgram.Socket): Promise<void> {
  return new Promise((resolve) => {
    try {
      socket.close(() => resolve());
    } catch {
      resolve(); // already closed
    }
  });
}
