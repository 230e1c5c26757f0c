/**
 * Every werift (0.25.2) internal the peer plumbing relies on, in one place. Read this before upgrading werift.
 * They are reached through `import ... from 'werift'`, i.e. werift's ESM bundle (lib/index.mjs); the CommonJS copy
 * (lib/webrtc/src/index.js, for `require`) has classes of its own that these hooks do not touch.
 *
 * Host sockets (sfu/peer/peer-media-sockets.ts):
 * - ICE gathers a host candidate by calling the static `UdpTransport.init(type, { portRange, interfaceAddresses })`
 *   from `StunProtocol.connectionMade` (index.mjs, "../ice/src/stun/protocol.ts"); left alone, `init` finds a port
 *   with `findPort`, which binds and closes ports one by one from `portRange[0]` (one probe per port in use, for
 *   every peer connection), and a bind error is an uncaught 'error' event on the socket.
 * - The `interfaceAddresses` object passed to `init` is the peer connection's `iceInterfaceAddresses`, by
 *   reference (werift spreads the config shallowly), so that object identifies the peer connection.
 * - `UdpTransport`'s constructor (private in the .d.ts) only creates the dgram socket and its 'message' handler;
 *   `init` is what binds it. werift closes the transport (`close()`) from `Connection.close()`, but a socket bound
 *   while that close is in progress is pushed into `Connection.protocols` after it was emptied and never closed:
 *   hence every host socket is bound here, and one bound for a closed peer connection is closed at once.
 *
 * One UDP port for every peer connection (sfu/peer/peer-mux-sockets.ts, onIceConnectionCreated and takeOverLocalUfrag):
 * - `RTCPeerConnection.secureManager.createTransport()` (SecureTransportManager) builds the `RTCIceGatherer`, whose
 *   constructor creates the ICE `Connection`, and returns the `RTCDtlsTransport` (`.iceTransport.connection`). It runs
 *   before any SDP with the connection's ufrag is written (addTransceiver, setRemoteDescription).
 * - `Connection.localUsername` is a plain field that `Connection.restart()` (constructor, ICE restart) assigns
 *   `randomString(4)` (16 random bits, below RFC 8445 §5.3's 24), then reads back for `userHistory`, the local
 *   candidates' ufrag and (through `RTCIceGatherer.localParameters`) the SDP's a=ice-ufrag.
 *   `createTransport` also assigns it an existing transport's ufrag (not bundled; the SFU always bundles).
 * - Incoming binding requests are answered with the password `userHistory[ufrag] ?? localPassword`; werift checks
 *   neither the USERNAME nor the MESSAGE-INTEGRITY of a request.
 * - The `UdpTransport` surface werift uses: `type`, `socketType`, `rinfo`, `onData(data, [ip, port])`, `closed`,
 *   `send(data, addr?)`, `address`, `addressFamily`, `host`, `port`, `close()`.
 *
 * ICE-TCP on one port (sfu/peer/tcp-mux.ts, onTcpPassiveProtocol):
 * - With `iceUseTcp`, `Connection.getCandidatePromises()` makes a `TcpPassiveProtocol` per address (not exported),
 *   passes it to `ensureProtocol()` (which subscribes the connection to it), then calls its
 *   `connectionMade(localIp, portRange)`, which makes its own `net.Server` listen, and reads the candidate's port from
 *   its `listeningPort` getter. `close()` destroys its sockets and closes the server (a server that never listened
 *   closes at once). It also makes a `TcpActiveProtocol` (candidate port 9) that dials remote passive candidates.
 * - `registerSocket(socket, [ip, port])` (BaseTcpProtocol) takes an accepted socket: it reads RFC 4571 frames from
 *   its 'data' events, remembers it for sends to that address, and forgets it on 'close'.
 *
 * No STUN server (withoutStunServer below):
 * - `Connection.applyStunTurnServersFromOptions()` falls back to `DEFAULT_STUN_SERVER` (stun.l.google.com:19302)
 *   when the configuration has none, and every gathering then resolves that name (a blocking getaddrinfo in
 *   libuv's 4-thread pool), sends a STUN request off the machine and waits up to `iceStunGatherTimeout` (5 s)
 *   before `setLocalDescription` resolves. `Connection.stunServer` is read by `getCandidatePromises()` when
 *   gathering starts, right after the gatherer announces "gathering".
 *
 * DTLS after close (known, bounded; not worked around):
 * - `RTCDtlsTransport.start()` waits 100 ms, then calls `dtls.connect()` without checking whether the connection
 *   closed meanwhile, and `Flight.transmit` resends a flight 10 more times, 0.5 s to 5.5 s apart, stopping only
 *   when the handshake moves on: a participant who leaves during its DTLS handshake leaves a timer running ~33 s.
 *
 * Early DTLS (sfu/peer/werift-dtls-early.ts):
 * - `RTCDtlsTransport.start()` creates the DTLS server (or client) and subscribes it to the ICE connection's
 *   `onData` (through an `IceTransport` wrapper that keeps DTLS records, RFC 7983 §7 first byte 20–63) only
 *   after ICE connectivity checks and nomination end (`RTCPeerConnection.connect()`); DTLS records arriving
 *   before are delivered to nobody. `start()` sets the state to "connecting" synchronously before creating it.
 * - `Connection.onData.execute(buf)` delivers a datagram as if it had just arrived (werift's statistics are
 *   counted before `onData`, so a replay is not counted twice).
 *
 * Stopped transceivers (releaseStoppedTransceiver below, from sfu/peer/subscriber-peer.ts):
 * - `RTCRtpSender.setDtlsTransport()` subscribes the sender to `dtlsTransport.onStateChange` and keeps the
 *   unsubscriber in `sender.dtlsDisposer`; `stop()` never calls it. With bundling every m-line shares the
 *   connection's one DTLS transport, so each stopped sender (and the transceiver it was taken from) stays
 *   reachable from a transport that lives as long as the subscriber, even after another transceiver took its m-line.
 * - `RTCRtpTransceiver.stop()` stops the sender and the receiver, and each aborts its `rtcpCancel`, whose
 *   `signal.reason` is an AbortError. Until its `stack` is read, V8 keeps that error's stack as call-site records
 *   holding the receiver and closure of every frame of the `stop()` call: when a participant leaves, that is the
 *   departing Participant, its peers and peer connections. A stopped transceiver stays in `pc.getTransceivers()`
 *   until a new one takes its m-line.
 *
 * ICE restart (startIceAfterRestart below, installed by sfu/peer/peer-factory.ts for every peer connection of the
 * process, the tests' werift bots included):
 * - An offer or answer with new ICE credentials makes `RTCIceTransport.restart()` (through
 *   `RTCPeerConnection.createOffer({ iceRestart })` or `RTCIceTransport.setRemoteParams`) call `Connection.restart()`:
 *   `generation` is incremented (0 for the first credentials), new local credentials, no nominated pair, no
 *   consent checks; the host sockets (and so the port) stay, and the DTLS transport and its session are untouched.
 * - `RTCPeerConnection.connect()` (private in the .d.ts), which runs after each answer is applied, returns early for
 *   a DTLS transport that is already `connected`, before `RTCIceTransport.start()`: a restarted ICE agent never runs
 *   its connectivity checks, never nominates a pair, and `Connection.send` (which needs a nominated pair) sends
 *   nothing. werift 0.25.2 has no test of a restart on a connected transport.
 * - `Connection.gatherCandidates()` ends with `setState("completed")`: after a restart the ICE transport reports
 *   `completed` once gathering ends, before any check (then `checking`, then `connected` when a pair is nominated).
 * - `Connection.connect()` runs the checks and, once a pair is nominated, consent checks and the state `connected`;
 *   it throws when every check failed. `RTCIceTransport.start()` wraps it with the states `checking` and `failed`
 *   (`failed` makes the peer connection's `iceConnectionState` and `connectionState` `failed`), but first waits for
 *   the previous `start()` to end. The DTLS session carries on over the new pair: its records go through
 *   `Connection.send`/`onData`, whichever pair is nominated.
 * - werift as the answerer (the tests' bots): `setRemoteDescription` treats new remote credentials as a
 *   "renomination" (`Connection.resetNominatedPair()`, its own credentials kept) instead of a restart whenever the
 *   new description has an `inactive` m-line, as a subscriber offer with a stopped m-line does. A werift client that
 *   must answer a restart calls `RTCIceTransport.restart()` itself first (test/helpers/bot.ts).
 * - A restart while the previous one's checks run (the path still down) does not stop them: `Connection.restart()`
 *   swaps the check list and its result queue under the running `connect()`, which then either works on the new
 *   list beside the new `connect()` (one takes the result, the other waits for ever on the queue: a promise that
 *   never settles, no timer) or waits for ever on the old queue; so would the `start()` that called it, and every
 *   later `start()` behind it. Hence the hook calls `connect()` itself, once per generation, and a failure counts
 *   only for the generation it belongs to. The SFU rate-limits restarts.
 * - Checks that fail while the path is down are not tried again when it comes back (werift retries no failed
 *   pair): a browser's own checks (which trigger werift's) or another restart bring the connection back.
 */
import type { SocketType } from 'node:dgram';
import { Server, type Socket } from 'node:net';
import { RTCPeerConnection, UdpTransport, type InterfaceAddresses, type RTCDtlsTransport, type RTCRtpTransceiver } from 'werift';

/** Binds one host socket for a peer connection: creates transports with {@link newUdpTransport} and binds them. */
export type HostSocketOpener = (type: SocketType) => Promise<UdpTransport>;

type UdpInitOptions = { portRange?: [number, number]; port?: number; interfaceAddresses?: InterfaceAddresses };
type UdpTransportConstructor = new (type: SocketType, options: UdpInitOptions) => UdpTransport;

const openers = new WeakMap<object, HostSocketOpener>();
let installed = false;

function installHostSocketHook(): void {
  if (installed) return;
  const original = UdpTransport.init;
  if (typeof original !== 'function') throw new Error('werift UdpTransport.init is missing: sfu/peer/werift-peer-internals.ts needs updating');
  const hooked = (type: SocketType, options: UdpInitOptions = {}): Promise<UdpTransport> => {
    const opener = options.interfaceAddresses ? openers.get(options.interfaceAddresses) : undefined;
    return opener ? opener(type) : original.call(UdpTransport, type, options);
  };
  (UdpTransport as unknown as { init: typeof hooked }).init = hooked;
  installed = true;
}

/**
 * Makes werift bind the host sockets of the peer connection configured with `iceInterfaceAddresses:
 * interfaceAddresses` through `opener`; other peer connections keep werift's own behaviour.
 */
export function routeHostSockets(interfaceAddresses: InterfaceAddresses, opener: HostSocketOpener): void {
  installHostSocketHook();
  openers.set(interfaceAddresses, opener);
}

/** A werift UDP transport whose socket is created but not bound (the caller binds `transport.socket`). */
export function newUdpTransport(type: SocketType): UdpTransport {
  return new (UdpTransport as unknown as UdpTransportConstructor)(type, {});
}

/** The parts of werift's ICE `Connection` the shared port relies on ("One UDP port" above). */
export interface IceConnectionInternals {
  localUsername: string;
  localPassword: string;
  userHistory: Record<string, string>;
}

type TransportFactory = { createTransport(options?: object): { iceTransport: { connection: IceConnectionInternals } } };

/** Calls `created` with each ICE connection `pc` creates, before any SDP carries its ufrag. */
export function onIceConnectionCreated(pc: RTCPeerConnection, created: (connection: IceConnectionInternals) => void): void {
  const manager = (pc as unknown as { secureManager?: TransportFactory }).secureManager;
  if (typeof manager?.createTransport !== 'function') throw new Error('werift secureManager.createTransport is missing: sfu/peer/werift-peer-internals.ts needs updating');
  const original = manager.createTransport.bind(manager);
  manager.createTransport = (options?: object) => {
    const dtlsTransport = original(options);
    created(dtlsTransport.iceTransport.connection);
    return dtlsTransport;
  };
}

/**
 * From now on the connection's local ufrag is `next()`: now, and each time werift assigns a new one (ICE restart),
 * whatever value werift chose. The password answering requests for it is the connection's current one.
 */
export function takeOverLocalUfrag(connection: IceConnectionInternals, next: () => string): void {
  let ufrag = next();
  Object.defineProperty(connection, 'localUsername', {
    configurable: true,
    enumerable: true,
    get: () => ufrag,
    set: () => {
      ufrag = next();
    },
  });
  connection.userHistory[ufrag] = connection.localPassword;
}

/** The parts of werift's `TcpPassiveProtocol` the shared TCP port relies on ("ICE-TCP on one port" above). */
export interface TcpPassiveInternals {
  registerSocket(socket: Socket, remoteAddr: [string, number]): unknown;
}

type ProtocolOwner = { ensureProtocol(protocol: object): void };

/**
 * Each ICE-TCP passive protocol `connection` makes: its own server does not listen, its candidate carries `port`,
 * and `adopted` receives it (to hand it the connections accepted on that port).
 */
export function onTcpPassiveProtocol(connection: IceConnectionInternals, port: number, adopted: (protocol: TcpPassiveInternals) => void): void {
  const owner = connection as unknown as ProtocolOwner;
  if (typeof owner.ensureProtocol !== 'function') throw new Error('werift Connection.ensureProtocol is missing: sfu/peer/werift-peer-internals.ts needs updating');
  const original = owner.ensureProtocol.bind(owner);
  owner.ensureProtocol = (protocol: object) => {
    original(protocol);
    const candidate = protocol as { server?: unknown; registerSocket?: unknown; localIp?: string; connectionMade?: unknown };
    if (!(candidate.server instanceof Server) || typeof candidate.registerSocket !== 'function') return;
    candidate.connectionMade = async (localIp: string) => {
      candidate.localIp = localIp;
    };
    Object.defineProperty(candidate, 'listeningPort', { configurable: true, get: () => port });
    adopted(candidate as TcpPassiveInternals);
  };
}

/** Gathers host candidates only: no server-reflexive query to werift's default public STUN server. */
export function withoutStunServer(pc: RTCPeerConnection): void {
  pc.iceGatheringStateChange.subscribe((state) => {
    if (state !== 'gathering') return;
    for (const transport of pc.iceTransports) (transport.connection as unknown as { stunServer?: unknown }).stunServer = undefined;
  });
}

/**
 * After `transceiver.stop()`: unsubscribes its sender from the DTLS transport and drops what the errors of its
 * aborted RTCP loops hold ("Stopped transceivers" above), so neither the transceiver nor whoever called stop()
 * stays reachable from the peer connection's DTLS transport.
 */
export function releaseStoppedTransceiver(transceiver: RTCRtpTransceiver): void {
  const sender = transceiver.sender as unknown as { dtlsDisposer?: (() => void)[] };
  for (const dispose of sender.dtlsDisposer ?? []) dispose();
  sender.dtlsDisposer = [];
  for (const side of [transceiver.sender, transceiver.receiver] as unknown as { rtcpCancel?: AbortController }[]) {
    const reason: unknown = side.rtcpCancel?.signal.reason;
    // Reading `stack` turns V8's call-site records into a string; their references to the callers' objects go.
    if (reason instanceof Error) void reason.stack;
  }
}

/** `RTCPeerConnection.connect()`, private in werift's .d.ts ("ICE restart" above). */
type Connecting = { connect(): Promise<void>; readonly dtlsTransports: RTCDtlsTransport[] };
/** The ICE generation whose checks were started here, per ICE transport. */
const checkedGeneration = new WeakMap<object, number>();
let restartHookInstalled = false;

/**
 * Makes an ICE restart work on a connected DTLS transport ("ICE restart" above): when an answer has been applied,
 * each restarted ICE transport under a connected DTLS transport runs its connectivity checks (once per generation),
 * and the DTLS session goes on over the pair they nominate.
 */
export function startIceAfterRestart(): void {
  if (restartHookInstalled) return;
  const prototype = RTCPeerConnection.prototype as unknown as Connecting;
  const connect = prototype.connect;
  if (typeof connect !== 'function') throw new Error('werift RTCPeerConnection.connect is missing: sfu/peer/werift-peer-internals.ts needs updating');
  prototype.connect = function (this: Connecting): Promise<void> {
    for (const dtls of this.dtlsTransports) {
      const ice = dtls.iceTransport;
      const connection = ice.connection;
      const { generation, remoteUsername } = connection;
      if (dtls.state !== 'connected' || generation === 0 || !remoteUsername || checkedGeneration.get(ice) === generation) continue;
      checkedGeneration.set(ice, generation);
      // Not ice.start(): it first waits for the previous start to end, and that of a restart whose checks were cut
      // short by another restart may never end. What start() adds to connect() is its states, set here.
      const setState = (state: string) => (ice as unknown as { setState(state: string): void }).setState(state);
      setState('checking');
      connection.connect().catch(() => {
        // A failure is this restart's only while no later one began: it makes the connection `failed`.
        if (connection.generation === generation && ice.state !== 'closed') setState('failed');
      });
    }
    return connect.call(this);
  };
  restartHookInstalled = true;
}
