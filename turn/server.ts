// The adapter: owns the UDP/TCP/TLS listeners, one UDP relay socket per allocation, and the timer;
// feeds bytes to the TurnCore and performs the actions it returns. Nothing here throws out of a
// socket handler: every entry point is guarded, and the core itself does not throw on input.
import dgram from 'node:dgram';
import net from 'node:net';
import tls from 'node:tls';
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Allocation, ClientRef, ClientTransport } from './allocation.js';
import type { TurnConfig } from './config.js';
import { TurnCore, type TurnAction } from './core.js';
import { createCredentialResolver } from './credentials.js';
import { createTurnMetrics } from './metrics.js';
import { PeerFilter } from './peer-filter.js';
import { SEND_INDICATION_TYPE } from './stun/relay-codec.js';
import { TcpFramer } from './tcp-framer.js';

export interface Clock {
  /** Milliseconds since the epoch (Date.now() by default); also used for REST credential expiry. */
  now(): number;
}

export interface TurnServerDeps {
  readonly logger: Logger;
  readonly registry: Registry;
  readonly clock?: Clock;
}

export interface BoundAddress {
  readonly address: string;
  readonly port: number;
}

export interface TurnServerStats {
  readonly allocations: number;
  readonly relaySockets: number;
  readonly portsInUse: number;
  readonly tcpConnections: number;
  readonly packetsToPeer: number;
  readonly packetsToClient: number;
  readonly dropped: number;
  readonly handlerErrors: number;
}

export interface TurnServer {
  readonly addresses: { readonly udp?: BoundAddress; readonly tcp?: BoundAddress; readonly tls?: BoundAddress };
  stats(): TurnServerStats;
  /** Closes every socket, timer and allocation. Idempotent. */
  close(): Promise<void>;
}

/** Socket receive buffers: bursts from many clients arrive at once (the kernel caps at rmem_max). */
const LISTENER_RECV_BUFFER = 4 << 20;
const RELAY_RECV_BUFFER = 1 << 20;

/**
 * dgram resolves every destination through dns.lookup, which for an IP literal still costs a
 * nextTick and a closure per packet. Destinations here are always IP literals: answer at once.
 */
function literalLookup(family: 4 | 6) {
  return (address: string, _options: unknown, callback: (err: null, address: string, family: number) => void): void =>
    callback(null, address, family);
}

/** Over TCP, stop queueing relayed data to a client that does not read (media is not retransmitted). */
const MAX_TCP_BACKLOG = 1 << 20;
const TICK_MS = 1000;

export async function startTurnServer(config: TurnConfig, deps: TurnServerDeps): Promise<TurnServer> {
  const log = deps.logger.child({ name: 'turn' });
  const clock = deps.clock ?? { now: Date.now };
  const filter = new PeerFilter(config.allowedPeerCidrs, config.deniedPeerCidrs);
  let core: TurnCore | null = null;
  const metrics = createTurnMetrics(deps.registry, () => core);
  const relayFamily = net.isIPv6(config.relayAddress) ? 6 : 4;
  core = new TurnCore({
    ...config,
    relayFamily,
    defaultLifetimeSeconds: config.defaultAllocationLifetimeSeconds,
    maxLifetimeSeconds: config.maxAllocationLifetimeSeconds,
    resolveCredentials: createCredentialResolver(config),
    allowPeer: (address) => filter.allows(address),
    observer: {
      allocationCreated(a) {
        metrics.allocationsCreated.inc();
        log.debug({ allocationId: a.id, userId: a.userId, transport: a.client.transport, relayPort: a.relayPort }, 'allocation created');
      },
      allocationDeleted(a, reason) {
        log.debug({ allocationId: a.id, userId: a.userId, reason }, 'allocation deleted');
      },
      allocationRefused(reason, client) {
        metrics.allocationsRefused.inc({ reason });
        log.debug({ reason, transport: client.transport }, 'allocation refused');
      },
      authFailure(reason, client) {
        metrics.authFailures.inc({ reason });
        log.debug({ reason, transport: client.transport }, 'authentication failed');
      },
    },
  });
  const turn = core;
  const udpType = net.isIPv6(config.listenAddress) ? 'udp6' : 'udp4';
  const relayType = relayFamily === 6 ? 'udp6' : 'udp4';
  const relayLookup = literalLookup(relayFamily);
  const relays = new Set<dgram.Socket>();
  const connections = new Set<net.Socket>();
  let handlerErrors = 0;
  let closed = false;

  const guard = (where: string, err: unknown): void => {
    handlerErrors++;
    if (handlerErrors <= 10 || handlerErrors % 1000 === 0) log.error({ where, err, handlerErrors }, 'turn handler error');
  };

  const sendToClient = (client: ClientRef, data: Buffer): void => {
    if (client.transport === 'udp') {
      (client.handle as dgram.Socket).send(data, client.port, client.address);
      return;
    }
    const socket = client.handle as net.Socket;
    if (!socket.destroyed && socket.writableLength < MAX_TCP_BACKLOG) socket.write(data);
  };

  const openRelay = (a: Allocation): void => {
    const socket = dgram.createSocket({ type: relayType, lookup: relayLookup as never, recvBufferSize: RELAY_RECV_BUFFER });
    a.relay = socket;
    relays.add(socket);
    let bound = false;
    socket.on('error', (err) => {
      if (bound) return guard('relay-socket', err);
      relays.delete(socket);
      socket.close();
      perform(turn.relayFailed(a));
    });
    socket.on('message', (msg, rinfo) => {
      try {
        const out = turn.peerData(a, rinfo.address, rinfo.port, msg, clock.now());
        if (out !== null) sendToClient(a.client, out);
      } catch (err) {
        guard('relay-message', err);
      }
    });
    socket.bind({ address: a.relayAddress, port: a.relayPort, exclusive: true }, () => {
      bound = true;
      if (closed) return;
      perform(turn.relayOpened(a));
    });
  };

  const closeRelay = (a: Allocation): void => {
    const socket = a.relay as dgram.Socket | null;
    a.relay = null;
    if (!socket || !relays.delete(socket)) return;
    try {
      socket.close();
    } catch {
      // already closed
    }
  };

  const perform = (actions: TurnAction[]): void => {
    for (const action of actions) {
      switch (action.kind) {
        case 'send':
          sendToClient(action.to, action.data);
          break;
        case 'open-relay':
          openRelay(action.allocation);
          break;
        case 'close-relay':
          closeRelay(action.allocation);
          break;
        case 'relay':
          (action.allocation.relay as dgram.Socket | null)?.send(action.data, action.port, action.address);
          break;
      }
    }
  };

  /**
   * Fast path for one message from a client: ChannelData and Send indications are relayed here.
   * Returns false when the message is for the control path (handleMessage).
   */
  const relayFromClient = (key: string, buf: Buffer, now: number): boolean => {
    const b0 = buf[0];
    let d = null;
    if ((b0 & 0xc0) === 0x40) d = turn.clientChannelData(key, buf, 0, buf.length, now);
    else if (buf.length >= 20 && buf.readUInt16BE(0) === SEND_INDICATION_TYPE) d = turn.clientSendIndication(key, buf, now);
    else return (b0 & 0xc0) !== 0; // neither STUN nor ChannelData: drop
    if (d !== null) (d.allocation.relay as dgram.Socket).send(buf, d.offset, d.length, d.port, d.address);
    return true;
  };

  let udp: dgram.Socket | null = null;
  let udpAddress: BoundAddress | undefined;
  let tcp: net.Server | null = null;
  let tcpAddress: BoundAddress | undefined;
  let tlsServer: tls.Server | null = null;
  let tlsAddress: BoundAddress | undefined;
  try {
    // UDP listener (RFC 8489 §6.2.1).
    if (config.udpPort >= 0) {
      const socket = dgram.createSocket({
        type: udpType,
        lookup: literalLookup(udpType === 'udp6' ? 6 : 4) as never,
        recvBufferSize: LISTENER_RECV_BUFFER,
        sendBufferSize: LISTENER_RECV_BUFFER,
      });
      udp = socket;
      socket.on('error', (err) => guard('udp-listener', err));
      socket.on('message', (msg, rinfo) => {
        try {
          if (msg.length < 4) return;
          const key = `${rinfo.address}|${rinfo.port}`;
          const now = clock.now();
          if (relayFromClient(key, msg, now)) return;
          const client: ClientRef = {
            key,
            transport: 'udp',
            address: rinfo.address,
            port: rinfo.port,
            family: rinfo.family === 'IPv6' ? 6 : 4,
            handle: socket,
          };
          perform(turn.handleMessage(client, msg, now));
        } catch (err) {
          guard('udp-message', err);
        }
      });
      await new Promise<void>((resolve, reject) => {
        socket.once('error', reject);
        socket.bind({ address: config.listenAddress, port: config.udpPort, exclusive: true }, () => {
          socket.off('error', reject);
          resolve();
        });
      });
      const a = socket.address();
      udpAddress = { address: a.address, port: a.port };
    }

    // TCP and TLS listeners (RFC 8656 §3.1, RFC 8489 §6.2.2-6.2.3).
    let nextConnection = 1;
    const onConnection = (transport: ClientTransport) => (socket: net.Socket) => {
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
      connections.add(socket);
      socket.setNoDelay(true);
      socket.on('data', (chunk: Buffer) => {
        try {
          framer.push(chunk);
          for (let frame = framer.next(); frame !== null; frame = framer.next()) {
            const now = clock.now();
            if (!relayFromClient(key, frame, now)) perform(turn.handleMessage(client, frame, now));
          }
          if (framer.error) socket.destroy();
        } catch (err) {
          guard('tcp-data', err);
          socket.destroy();
        }
      });
      socket.on('error', () => socket.destroy());
      socket.on('close', () => {
        connections.delete(socket);
        if (!closed) perform(turn.clientClosed(key));
      });
    };
    const listen = async (server: net.Server, port: number): Promise<BoundAddress> => {
      server.on('error', (err) => guard('tcp-listener', err));
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen({ host: config.listenAddress, port, exclusive: true }, () => {
          server.off('error', reject);
          resolve();
        });
      });
      const a = server.address() as net.AddressInfo;
      return { address: a.address, port: a.port };
    };
    if (config.tcpPort >= 0) {
      tcp = net.createServer(onConnection('tcp'));
      tcpAddress = await listen(tcp, config.tcpPort);
    }
    if (config.tls) {
      const pem = (v: string): string => (v.includes('-----BEGIN') ? v : readFileSync(v, 'utf8'));
      tlsServer = tls.createServer({ cert: pem(config.tls.cert), key: pem(config.tls.key) }, onConnection('tls'));
      tlsServer.on('tlsClientError', () => undefined);
      tlsAddress = await listen(tlsServer, config.tls.port);
    }
  } catch (err) {
    // A listener failed (port in use, bad certificate): release what was opened, then report.
    try {
      udp?.close();
    } catch {
      // not bound
    }
    tcp?.close();
    tlsServer?.close();
    metrics.remove();
    throw err;
  }

  const timer = setInterval(() => {
    try {
      perform(turn.tick(clock.now()));
    } catch (err) {
      guard('tick', err);
    }
  }, TICK_MS);
  timer.unref();
  log.info({ udp: udpAddress, tcp: tcpAddress, tls: tlsAddress, relayAddress: config.relayAddress, realm: config.realm }, 'turn server started');

  let closing: Promise<void> | null = null;
  return {
    addresses: { udp: udpAddress, tcp: tcpAddress, tls: tlsAddress },
    stats: () => ({
      allocations: turn.allocationCount,
      relaySockets: relays.size,
      portsInUse: turn.portsInUse,
      tcpConnections: connections.size,
      packetsToPeer: turn.traffic.packetsToPeer,
      packetsToClient: turn.traffic.packetsToClient,
      dropped: turn.traffic.dropped,
      handlerErrors,
    }),
    close() {
      if (closing) return closing;
      closed = true;
      clearInterval(timer);
      perform(turn.closeAll());
      for (const s of relays) s.close();
      relays.clear();
      for (const c of connections) c.destroy();
      connections.clear();
      const closeServer = (s: net.Server | null): Promise<void> =>
        s ? new Promise((resolve) => s.close(() => resolve())) : Promise.resolve();
      closing = Promise.all([
        udp ? new Promise<void>((resolve) => udp!.close(() => resolve())) : Promise.resolve(),
        closeServer(tcp),
        closeServer(tlsServer),
      ]).then(() => {
        metrics.remove();
        log.info('turn server closed');
      });
      return closing;
    },
  };
}
