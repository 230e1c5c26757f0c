import type { RemoteInfo, SocketType } from 'node:dgram';
import { isIP, type AddressInfo } from 'node:net';

/** What a transport needs from the shared port it lives on ({@link UdpMux}). */
export interface MuxHost {
  readonly address: AddressInfo;
  send(data: Buffer, port: number, ip: string): void;
  /** The transport sends to this address: datagrams from it are the transport's (unless another claimed it first). */
  learn(transport: MuxedUdpTransport, ip: string, port: number): void;
  /** The transport is closed: forget its ufrag and addresses. */
  release(transport: MuxedUdpTransport): void;
}

/**
 * One ICE connection's view of the shared UDP port, shaped like werift's `UdpTransport` (the surface listed in
 * sfu/peer/werift-peer-internals.ts): werift reads and writes through it as through a socket of its own; the mux
 * hands it the datagrams meant for its connection, and its sends go out through the shared socket.
 */
export class MuxedUdpTransport {
  readonly type = 'udp';
  readonly socketType: SocketType;
  /** The last sender (werift's default destination when `send` gets no address). */
  rinfo?: RemoteInfo;
  /** Set by werift's StunProtocol. */
  onData: (data: Buffer, addr: [string, number]) => void = () => undefined;
  closed = false;
  readonly #host: MuxHost;
  /** The destination last announced to the host, so a send to the same one costs two comparisons. */
  #sentIp: string | undefined;
  #sentPort = -1;

  constructor(host: MuxHost, socketType: SocketType) {
    this.#host = host;
    this.socketType = socketType;
  }

  /** A datagram for this connection (from the mux). */
  receive(data: Buffer, info: RemoteInfo): void {
    this.rinfo = info;
    try {
      this.onData(data, [info.address, info.port]);
    } catch {
      // werift's handlers catch their own errors; one that escapes must not reach the shared socket's read loop
    }
  }

  send = async (data: Buffer, addr?: [string, number]): Promise<void> => {
    if (this.closed) return;
    const ip = addr ? addr[0] : this.rinfo?.address;
    const port = addr ? addr[1] : this.rinfo?.port;
    if (ip === undefined || port === undefined) return;
    if (ip !== this.#sentIp || port !== this.#sentPort) {
      // Candidates are IP addresses (the SFU drops mDNS names; no TURN server is configured on its side).
      if (isIP(ip) === 0) return;
      this.#host.learn(this, ip, port);
      this.#sentIp = ip;
      this.#sentPort = port;
    }
    this.#host.send(data, port, ip);
  };

  get address(): AddressInfo {
    return this.#host.address;
  }

  get addressFamily(): 4 | 6 {
    return this.socketType === 'udp6' ? 6 : 4;
  }

  get host(): string {
    return this.#host.address.address;
  }

  get port(): number {
    return this.#host.address.port;
  }

  /** Idempotent; the shared socket stays open. */
  close = async (): Promise<void> => {
    if (this.closed) return;
    this.closed = true;
    this.onData = () => undefined;
    this.#host.release(this);
  };
}
