import type { SocketType } from 'node:dgram';
import type { InterfaceAddresses, RTCPeerConnection, UdpTransport } from 'werift';
import { InvalidStateError } from '../errors.js';
import type { MuxedUdpTransport } from './muxed-udp-transport.js';
import type { SharedMediaPorts } from './shared-media-ports.js';
import { onIceConnectionCreated, routeHostSockets } from './werift-peer-internals.js';

/**
 * The shared-port counterpart of PeerMediaSockets: one peer connection's transports on the node's UDP mux (and its
 * ICE-TCP passive candidates on the node's TCP mux).
 * Each ICE connection werift creates gets its transport (and its ufrag on the port) at once; werift's request for a
 * host socket, made when it gathers, is answered with that transport. Closing forgets every transport the moment
 * werift no longer can (never handed to werift, or `force`); werift's own close releases those it holds.
 */
export class PeerMuxSockets {
  /** Passed to werift as `iceInterfaceAddresses`; its identity ties werift's socket requests to this object. */
  readonly interfaceAddresses: InterfaceAddresses;
  readonly #ports: SharedMediaPorts;
  /** Transports not yet handed to werift, oldest first. */
  readonly #waiting: MuxedUdpTransport[] = [];
  readonly #handedOut = new Set<MuxedUdpTransport>();
  #closed = false;

  constructor(ports: SharedMediaPorts, listenIp: string) {
    this.#ports = ports;
    this.interfaceAddresses = listenIp.includes(':') ? { udp6: listenIp } : { udp4: listenIp };
    routeHostSockets(this.interfaceAddresses, (type) => this.#handOut(type));
  }

  /** Follows the ICE connections of `pc`, which must be configured with {@link interfaceAddresses}. */
  attach(pc: RTCPeerConnection): void {
    onIceConnectionCreated(pc, (connection) => {
      if (this.#closed) return;
      this.#waiting.push(this.#ports.udp.openSession(connection));
      this.#ports.tcp?.follow(connection);
    });
  }

  async close(force = false): Promise<void> {
    this.#closed = true;
    const closing = this.#waiting.splice(0);
    if (force) closing.push(...this.#handedOut);
    await Promise.all(closing.map((transport) => transport.close()));
  }

  async #handOut(type: SocketType): Promise<UdpTransport> {
    if (this.#closed) throw new InvalidStateError('peer connection closed before its socket was opened');
    const socketType = this.#ports.udp.socketType;
    if (type !== socketType) throw new InvalidStateError(`the shared UDP port is ${socketType}, werift asked for ${type}`);
    // Bundled (max-bundle): one ICE connection per peer connection, created before it gathers.
    const transport = this.#waiting.shift();
    if (!transport) throw new InvalidStateError('werift gathers on an ICE connection the shared port was not told of');
    this.#handedOut.add(transport);
    return transport as unknown as UdpTransport;
  }
}
