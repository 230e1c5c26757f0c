import { RTCPeerConnection, type PeerConfig } from 'werift';
import { sfuCodecs, sfuHeaderExtensions } from './media-capabilities.js';
import type { SfuOptions } from './sfu-options.js';

const isIpv4 = (host: string) => !host.includes(':');

/**
 * A werift peer connection restricted to one interface: it gathers and announces a single host candidate
 * on `listenIp` and pairs only with IPv4 remote candidates, so everything works on 127.0.0.1 alone.
 */
export function createPeerConnection(options: SfuOptions, extra: Partial<PeerConfig> = {}): RTCPeerConnection {
  const ip = options.listenIp;
  const config: Partial<PeerConfig> = {
    codecs: sfuCodecs(),
    headerExtensions: sfuHeaderExtensions(),
    bundlePolicy: 'max-bundle',
    // werift skips loopback when gathering; these three make it use exactly `ip`.
    iceUseIpv4: false,
    iceUseIpv6: false,
    iceAdditionalHostAddresses: [ip],
    iceInterfaceAddresses: { udp4: ip },
    icePortRange: [options.portMin, options.portMax],
    iceFilterCandidatePair: (pair) => pair.localCandidate.host === ip && isIpv4(pair.remoteCandidate.host),
    iceFilterStunResponse: (_message, addr) => isIpv4(addr[0]),
  };
  return new RTCPeerConnection({ ...config, ...extra });
}

/** Rewrites the listen address to the announced one in a candidate line or a whole SDP (1:1 NAT). */
export function announceAddress(text: string, options: SfuOptions): string {
  const announced = options.announcedIp;
  if (!announced || announced === options.listenIp) return text;
  return text.split(` ${options.listenIp} `).join(` ${announced} `);
}
