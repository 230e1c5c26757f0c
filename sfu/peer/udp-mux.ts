import { randomBytes } from 'node:crypto';
import { createSocket, type RemoteInfo, type Socket, type SocketType } from 'node:dgram';
import { isIP, type AddressInfo } from 'node:net';
import { InvalidStateError } from '../errors.js';
import { stampDatagramsOnRead } from './datagram-arrivals.js';
import { MuxedUdpTransport, type MuxHost } from './muxed-udp-transport.js';
import { hasValidIntegrity, looksLikeStun, readBindingRequest } from './stun-binding-request.js';
import { addressKey, UdpDemuxTable } from './udp-demux-table.js';
import { takeOverLocalUfrag, type IceConnectionInternals } from './werift-peer-internals.js';

/**
 * Every peer connection's media arrives on this one socket, so the kernel's receive buffer is the whole node's:
 * ask for much more than the default (Linux caps it at net.core.rmem_max; README.md, Operations, says how to raise it).
 */
const SOCKET_BUFFER_BYTES = 8 * 1024 * 1024;

export type UdpMuxDropReason = 'unknown' | 'bad_integrity';

/**
 * One UDP socket shared by every peer connection of the node (mediasoup's WebRtcServer, LiveKit's rtc.udp_port).
 * Each ICE connection gets a {@link MuxedUdpTransport} and a ufrag unique on the port. A datagram goes to the
 * connection whose ufrag a STUN binding request names (RFC 8445 §7.2.2; its MESSAGE-INTEGRITY checked with that
 * connection's password), which also routes the sender's address to it; anything else (DTLS, SRTP, SRTCP, STUN
 * responses) goes by the sender's address, learned that way or from the connection's own sends. The rest is dropped
 * and counted.
 */
export class UdpMux implements MuxHost {
  readonly socketType: SocketType;
  readonly address: AddressInfo;
  /** Datagrams dropped since the mux opened, by reason. */
  readonly dropped: Record<UdpMuxDropReason, number> = { unknown: 0, bad_integrity: 0 };
  readonly #socket: Socket;
  readonly #table = new UdpDemuxTable<MuxedUdpTransport>();
  /** Open transports and their ICE connections (whose password checks the requests). */
  readonly #connections = new Map<MuxedUdpTransport, IceConnectionInternals>();
  #closed = false;
  #closing: Promise<void> | undefined;

  /** Binds `listenIp:port` (0: a port the OS picks). */
  static async open(listenIp: string, port: number): Promise<UdpMux> {
    const socketType: SocketType = isIP(listenIp) === 6 ? 'udp6' : 'udp4';
    const socket = createSocket({ type: socketType, recvBufferSize: SOCKET_BUFFER_BYTES, sendBufferSize: SOCKET_BUFFER_BYTES });
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('error', reject);
        socket.bind({ port, address: listenIp, exclusive: true }, () => {
          socket.off('error', reject);
          resolve();
        });
      });
    } catch (error) {
      socket.close();
      throw error;
    }
    return new UdpMux(socket, socketType);
  }

  private constructor(socket: Socket, socketType: SocketType) {
    this.#socket = socket;
    this.socketType = socketType;
    this.address = socket.address();
    // werift sends without a callback: a send error (EPERM, ENETUNREACH) is an 'error' event, harmless for UDP.
    socket.on('error', () => undefined);
    socket.on('message', this.#onMessage);
    stampDatagramsOnRead(socket);
  }

  get port(): number {
    return this.address.port;
  }

  /** ICE connections on the port. */
  get sessionCount(): number {
    return this.#connections.size;
  }

  /** Entries of the demux maps (0 and 0 when no connection is left). */
  get tableSizes(): { ufrags: number; addresses: number } {
    return this.#table.sizes;
  }

  /** What is routed (mediasoup's dump): after every peer connection closed, nothing. */
  dump(): { sessions: number; ufrags: string[]; addresses: string[] } {
    return { sessions: this.#connections.size, ...this.#table.keys() };
  }

  /** The kernel's receive buffer of the shared socket, in bytes (what it granted of the request). */
  get receiveBufferBytes(): number {
    return this.#socket.getRecvBufferSize();
  }

  /**
   * A transport on the shared port for `connection`, which from now on has a ufrag of this mux's choosing (at once
   * and after every ICE restart). Call it before any SDP carries the connection's ufrag.
   */
  openSession(connection: IceConnectionInternals): MuxedUdpTransport {
    if (this.#closed) throw new InvalidStateError('the shared UDP port is closed');
    const transport = new MuxedUdpTransport(this, this.socketType);
    this.#connections.set(transport, connection);
    takeOverLocalUfrag(connection, () => this.#assignUfrag(transport));
    return transport;
  }

  /** The open connection whose current ufrag on this port is `ufrag` (for the TCP mux). */
  connectionForUfrag(ufrag: string): IceConnectionInternals | undefined {
    const transport = this.#table.byUfrag(ufrag);
    return transport && this.#connections.get(transport);
  }

  send(data: Buffer, port: number, ip: string): void {
    if (!this.#closed) this.#socket.send(data, port, ip);
  }

  learn(transport: MuxedUdpTransport, ip: string, port: number): void {
    if (this.#connections.has(transport)) this.#table.bindAddress(transport, addressKey(ip, port), false);
  }

  release(transport: MuxedUdpTransport): void {
    this.#connections.delete(transport);
    this.#table.remove(transport);
  }

  /** Closes every transport and the socket; idempotent. */
  close(): Promise<void> {
    this.#closed = true;
    this.#closing ??= (async () => {
      await Promise.all([...this.#connections.keys()].map((transport) => transport.close()));
      await new Promise<void>((resolve) => this.#socket.close(() => resolve()));
    })();
    return this.#closing;
  }

  /** RFC 8445 §5.3 asks for at least 24 random bits; 16 base64 characters (ice-chars, RFC 8839 §5.4) carry 96. */
  #assignUfrag(transport: MuxedUdpTransport): string {
    let ufrag: string;
    do ufrag = randomBytes(12).toString('base64');
    while (this.#table.hasUfrag(ufrag));
    // A connection restarted after its transport closed gets a ufrag that routes nothing.
    if (this.#connections.has(transport)) this.#table.setUfrag(transport, ufrag);
    return ufrag;
  }

  readonly #onMessage = (data: Buffer, info: RemoteInfo): void => {
    // A link-local IPv6 sender comes with its zone ("fe80::1%eth0"); werift's candidates have none.
    const ip = this.socketType === 'udp6' && info.address.includes('%') ? info.address.slice(0, info.address.indexOf('%')) : info.address;
    const key = addressKey(ip, info.port);
    let target: MuxedUdpTransport | undefined;
    if (looksLikeStun(data)) {
      const request = readBindingRequest(data);
      const owner = request && this.#table.byUfrag(request.localUfrag);
      if (request && owner) {
        const connection = this.#connections.get(owner)!;
        if (!hasValidIntegrity(data, request, connection.localPassword)) {
          this.dropped.bad_integrity++;
          return;
        }
        // The sender knows the connection's password: its address is this connection's from now on.
        this.#table.bindAddress(owner, key, true);
        target = owner;
      }
    }
    target ??= this.#table.byAddress(key);
    if (!target) {
      this.dropped.unknown++;
      return;
    }
    if (ip !== info.address) info.address = ip;
    target.receive(data, info);
  };
}
