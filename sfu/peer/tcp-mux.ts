import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { hasValidIntegrity, readBindingRequest } from './stun-binding-request.js';
import { onTcpPassiveProtocol, type IceConnectionInternals, type TcpPassiveInternals } from './werift-peer-internals.js';

/** RFC 4571 §2: each frame is preceded by its 16-bit length. */
const FRAME_HEADER_BYTES = 2;
/** A first frame is a binding request of ~100 bytes; more than this before it is complete is not ICE. */
const MAX_FIRST_FRAME_BYTES = 1500;
/** An accepted connection that has not sent a valid binding request by then is closed. */
const FIRST_FRAME_TIMEOUT_MS = 10_000;

export type TcpMuxDropReason = 'unknown' | 'bad_integrity' | 'malformed' | 'timeout';

/**
 * ICE-TCP passive candidates (RFC 6544) of every peer connection of the node on one TCP port. werift gives each ICE
 * connection a passive protocol with a listening server of its own; here that server never listens, and its
 * candidate carries this port instead. A client's TCP connection is handed to the peer connection whose ufrag its
 * first frame names (a binding request, RFC 6544 §7.1, framed per RFC 4571, MESSAGE-INTEGRITY checked), with the
 * bytes read so far put back; werift reads and writes it from then on and closes it with its connection.
 */
export class TcpMux {
  /** Connections refused since the mux opened, by reason. */
  readonly dropped: Record<TcpMuxDropReason, number> = { unknown: 0, bad_integrity: 0, malformed: 0, timeout: 0 };
  /** Connections handed to a peer connection since the mux opened. */
  accepted = 0;
  readonly #server: Server;
  readonly #findConnection: (ufrag: string) => IceConnectionInternals | undefined;
  readonly #passive = new WeakMap<IceConnectionInternals, TcpPassiveInternals>();
  /** Accepted sockets whose first frame has not arrived yet. */
  readonly #pending = new Set<Socket>();
  #closing: Promise<void> | undefined;

  /** Listens on `listenIp:port` (0: a port the OS picks); `findConnection` is the UDP mux's ufrag lookup. */
  static async open(listenIp: string, port: number, findConnection: (ufrag: string) => IceConnectionInternals | undefined): Promise<TcpMux> {
    const server = createServer({ noDelay: true });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ port, host: listenIp, exclusive: true }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    return new TcpMux(server, findConnection);
  }

  private constructor(server: Server, findConnection: (ufrag: string) => IceConnectionInternals | undefined) {
    this.#server = server;
    this.#findConnection = findConnection;
    server.on('connection', (socket) => this.#accept(socket));
    server.on('error', () => undefined);
  }

  get port(): number {
    return (this.#server.address() as AddressInfo).port;
  }

  /** Connections accepted and still waiting for their first frame. */
  get pendingCount(): number {
    return this.#pending.size;
  }

  /** Makes `connection`'s ICE-TCP passive candidate this port (call it when the connection is created). */
  follow(connection: IceConnectionInternals): void {
    onTcpPassiveProtocol(connection, this.port, (protocol) => this.#passive.set(connection, protocol));
  }

  /** Stops listening and closes the connections not yet handed over; idempotent. */
  close(): Promise<void> {
    this.#closing ??= new Promise<void>((resolve) => {
      for (const socket of this.#pending) socket.destroy();
      this.#pending.clear();
      this.#server.close(() => resolve());
    });
    return this.#closing;
  }

  #accept(socket: Socket): void {
    if (this.#closing) {
      socket.destroy();
      return;
    }
    this.#pending.add(socket);
    let buffered: Buffer = Buffer.alloc(0);
    const refuse = (reason: TcpMuxDropReason) => {
      this.dropped[reason]++;
      done();
      socket.destroy();
    };
    const timer = setTimeout(() => refuse('timeout'), FIRST_FRAME_TIMEOUT_MS);
    const done = () => {
      clearTimeout(timer);
      this.#pending.delete(socket);
      socket.off('data', onData);
    };
    const onData = (chunk: Buffer) => {
      buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
      if (buffered.length < FRAME_HEADER_BYTES) return;
      const length = buffered.readUInt16BE(0);
      if (length > MAX_FIRST_FRAME_BYTES) return refuse('malformed');
      if (buffered.length < FRAME_HEADER_BYTES + length) return;
      const frame = buffered.subarray(FRAME_HEADER_BYTES, FRAME_HEADER_BYTES + length);
      const request = readBindingRequest(frame);
      if (!request) return refuse('malformed');
      const connection = this.#findConnection(request.localUfrag);
      const protocol = connection && this.#passive.get(connection);
      if (!connection || !protocol) return refuse('unknown');
      if (!hasValidIntegrity(frame, request, connection.localPassword)) return refuse('bad_integrity');
      done();
      socket.pause();
      // werift's reader starts from the first frame, as if it had accepted the connection itself.
      socket.unshift(buffered);
      protocol.registerSocket(socket, [socket.remoteAddress ?? '', socket.remotePort ?? 0]);
      socket.resume();
      this.accepted++;
    };
    socket.on('data', onData);
    socket.on('error', () => undefined);
    socket.once('close', () => {
      if (this.#pending.has(socket)) done();
    });
  }
}
