import { RTCPeerConnection, type PeerConfig } from 'werift';
import { LimitExceededError } from '../errors.js';
import { mediaPortPool } from './media-port-pool.js';
import { PeerMediaSockets } from './peer-media-sockets.js';
import { PeerMuxSockets } from './peer-mux-sockets.js';
import type { SharedMediaPorts } from './shared-media-ports.js';
import type { SfuOptions } from '../sfu-options.js';
import { sfuCodecs, sfuHeaderExtensions } from './media-capabilities.js';
import { bufferEarlyDtls } from './werift-dtls-early.js';
import { startIceAfterRestart, withoutStunServer } from './werift-peer-internals.js';

const isIpv4 = (host: string) => !host.includes(':');

const socketsByPeer = new WeakMap<RTCPeerConnection, PeerMediaSockets | PeerMuxSockets>();

/** The subset of the SFU's options a peer connection is made from. */
export type PeerFactoryOptions = Pick<SfuOptions, 'listenIp' | 'portMin' | 'portMax'>;

/**
 * A werift peer connection restricted to one interface: it gathers and announces a single host candidate
 * on `listenIp`, bound directly to a port of `portMin..portMax` taken from the process's pool (no probing), and
 * pairs only with IPv4 remote candidates, so everything works on 127.0.0.1 alone. With `shared` (rtc.udpPort), the
 * candidate is the node's one shared port instead (sfu/peer/udp-mux.ts), plus an ICE-TCP passive one on the node's
 * TCP port when rtc.tcpPort is set (sfu/peer/tcp-mux.ts). DTLS records that arrive before werift
 * starts DTLS are kept and replayed (sfu/peer/werift-dtls-early.ts). Throws LimitExceededError when every port of
 * the range is in use.
 */
export function createPeerConnection(options: PeerFactoryOptions, extra: Partial<PeerConfig> = {}, shared?: SharedMediaPorts): RTCPeerConnection {
  const ip = options.listenIp;
  let sockets: PeerMediaSockets | PeerMuxSockets;
  if (shared) sockets = new PeerMuxSockets(shared, ip);
  else {
    const pool = mediaPortPool(ip, options.portMin, options.portMax);
    if (pool.free === 0) throw new LimitExceededError(`no free media port in ${pool.min}..${pool.max}`);
    sockets = new PeerMediaSockets(pool, ip);
  }
  const config: Partial<PeerConfig> = {
    codecs: sfuCodecs(),
    headerExtensions: sfuHeaderExtensions(),
    bundlePolicy: 'max-bundle',
    // The SFU announces its own address; werift's defaults would query Google's STUN server (withoutStunServer).
    iceServers: [],
    // werift skips loopback when gathering; these three make it use exactly `ip`.
    iceUseIpv4: false,
    iceUseIpv6: false,
    iceAdditionalHostAddresses: [ip],
    // Also the key by which werift's socket requests reach `sockets` (sfu/peer/werift-peer-internals.ts).
    iceInterfaceAddresses: sockets.interfaceAddresses,
    // The SFU only listens for ICE-TCP (passive); it never dials a client (werift's active TCP candidate).
    iceFilterCandidatePair: (pair) => pair.localCandidate.host === ip && isIpv4(pair.remoteCandidate.host) && pair.localCandidate.tcptype !== 'active',
    ...(shared?.tcp ? { iceUseTcp: true } : {}),
    iceFilterStunResponse: (_message, addr) => isIpv4(addr[0]),
  };
  startIceAfterRestart();
  const pc = new RTCPeerConnection({ ...config, ...extra });
  if (sockets instanceof PeerMuxSockets) sockets.attach(pc);
  socketsByPeer.set(pc, sockets);
  // Whoever closes it (the SFU, a test bot): from then on no socket of its may stay bound.
  pc.signalingStateChange.subscribe((state) => {
    if (state === 'closed') void sockets.close();
  });
  if (!extra.iceServers?.length) withoutStunServer(pc);
  bufferEarlyDtls(pc);
  return pc;
}

/**
 * Closes a peer connection made by {@link createPeerConnection} and resolves once its sockets are closed and
 * their ports back in the pool (werift closes them; any it left open are closed here).
 */
export async function closePeerConnection(pc: RTCPeerConnection): Promise<void> {
  await pc.close().catch(() => undefined);
  await socketsByPeer.get(pc)?.close(true);
}

/** Rewrites the listen address to the announced one in a candidate line or a whole SDP (1:1 NAT). */
export function announceAddress(text: string, options: SfuOptions): string {
  const announced = options.announcedIp;
  if (!announced || announced === options.listenIp) return text;
  return text.split(` ${options.listenIp} `).join(` ${announced} `);
}
