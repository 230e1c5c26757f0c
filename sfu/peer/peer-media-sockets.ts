import type { Socket, SocketType } from 'node:dgram';
import type { InterfaceAddresses, UdpTransport } from 'werift';
import { InvalidStateError, LimitExceededError } from '../errors.js';
import { stampDatagramsOnRead } from './datagram-arrivals.js';
import type { MediaPortPool } from './media-port-pool.js';
import { newUdpTransport, routeHostSockets } from './werift-peer-internals.js';

const ignore = () => undefined;

/**
 * The UDP sockets of one peer connection (one when bundled): each is bound directly to a port taken from the
 * pool, and the port goes back to the pool when the socket closes. Once {@link close} has been called, a
 * socket whose bind was in flight is closed as soon as it is bound, so closing a peer connection at any moment
 * (even while ICE is still gathering) leaves no socket behind.
 */
export class PeerMediaSockets {
  /** Passed to werift as `iceInterfaceAddresses`; its identity ties werift's socket requests to this object. */
  readonly interfaceAddresses: InterfaceAddresses;
  readonly #pool: MediaPortPool;
  /** Each open socket's transport → resolves once the socket has closed and its port is back in the pool. */
  readonly #open = new Map<UdpTransport, Promise<void>>();
  /** Binds in flight (ICE gathering). */
  readonly #binding = new Set<Promise<unknown>>();
  #closed = false;

  constructor(pool: MediaPortPool, listenIp: string) {
    this.#pool = pool;
    this.interfaceAddresses = listenIp.includes(':') ? { udp6: listenIp } : { udp4: listenIp };
    routeHostSockets(this.interfaceAddresses, (type) => {
      const bound = this.#bind(type);
      this.#binding.add(bound);
      const done = () => this.#binding.delete(bound);
      bound.then(done, done);
      return bound;
    });
  }

  /** Sockets bound and not yet closed. */
  get openCount(): number {
    return this.#open.size;
  }

  /**
   * No socket may be bound any more. Sockets still open are left to werift's own close (it sends its last
   * DTLS/SCTP messages through them) unless `force`, which closes them now; then resolves once they have
   * closed and their ports are back in the pool.
   */
  async close(force = false): Promise<void> {
    this.#closed = true;
    if (!force) return;
    await Promise.allSettled(this.#binding);
    for (const transport of this.#open.keys()) closeSocket(transport.socket);
    await Promise.all(this.#open.values());
  }

  async #bind(type: SocketType): Promise<UdpTransport> {
    const address = type === 'udp6' ? this.interfaceAddresses.udp6 : this.interfaceAddresses.udp4;
    // A port another process holds costs one failed bind and goes to the back of the queue, so each is tried
    // about once per turn of the whole pool; a full turn of failures means none is bindable.
    for (let attempt = 0; attempt < this.#pool.capacity; attempt++) {
      if (this.#closed) throw new InvalidStateError('peer connection closed before its socket was bound');
      const port = this.#pool.acquire();
      if (port === undefined) throw new LimitExceededError(`no free media port in ${this.#pool.min}..${this.#pool.max}`);
      const transport = newUdpTransport(type);
      const error = await bindSocket(transport.socket, port, address);
      if (error) {
        // The socket never held the port: it goes back to the pool at once (at the back of the queue).
        closeSocket(transport.socket);
        this.#pool.release(port);
        if (error.code === 'EADDRINUSE') continue; // another process holds it
        throw error;
      }
      this.#track(transport, port);
      if (this.#closed) {
        closeSocket(transport.socket);
        throw new InvalidStateError('peer connection closed while its socket was being bound');
      }
      return transport;
    }
    throw new LimitExceededError(`no bindable media port in ${this.#pool.min}..${this.#pool.max}`);
  }

  #track(transport: UdpTransport, port: number): void {
    // werift sends without a callback, so a send error (EPERM from a firewall, ENETUNREACH) is an 'error' event:
    // without a listener it would be an uncaught exception. A lost datagram is what UDP allows anyway.
    transport.socket.on('error', ignore);
    stampDatagramsOnRead(transport.socket);
    const closed = new Promise<void>((resolve) => {
      transport.socket.once('close', () => {
        this.#open.delete(transport);
        this.#pool.release(port);
        resolve();
      });
    });
    this.#open.set(transport, closed);
  }
}

function bindSocket(socket: Socket, port: number, address: string | undefined): Promise<NodeJS.ErrnoException | undefined> {
  return new Promise((resolve) => {
    const onError = (error: NodeJS.ErrnoException) => {
      socket.off('listening', onListening);
      resolve(error);
    };
    const onListening = () => {
      socket.off('error', onError);
      resolve(undefined);
    };
    socket.once('error', onError);
    socket.once('listening', onListening);
    socket.bind({ port, address });
  });
}

function closeSocket(socket: Socket): void {
  try {
    socket.close();
  } catch {
    // already closing: its 'close' event is on the way
  }
}
