import type { RTCIceCandidate, RTCPeerConnection, RTCRtpTransceiver } from 'werift';
import type { Logger } from 'pino';
import { InvalidSdpError } from '../errors.js';
import type { ExtensionIdMap } from '../media/header-extensions.js';
import { announceAddress, closePeerConnection } from './peer-factory.js';
import type { SfuMetrics } from '../sfu-metrics.js';
import type { SfuOptions } from '../sfu-options.js';
import type { IceCandidateJson, PeerRole } from '../sfu-types.js';

export interface PeerContext {
  options: SfuOptions;
  metrics: SfuMetrics;
  logger: Logger;
  onIceCandidate(role: PeerRole, candidate: IceCandidateJson): void;
  onConnectionState(role: PeerRole, state: string): void;
}

/** The connection-address field of a candidate line is a `.local` name. */
const MDNS_CANDIDATE = /^(?:candidate:)?\S+ \d+ \S+ \d+ \S+\.local /i;

/** What the publisher and subscriber connections share: trickle ICE, state reporting, close. */
export abstract class PeerBase {
  protected closed = false;
  readonly #startedAt = performance.now();
  #connectedOnce = false;

  constructor(
    readonly role: PeerRole,
    protected readonly pc: RTCPeerConnection,
    protected readonly context: PeerContext,
  ) {
    pc.onIceCandidate.subscribe((candidate?: RTCIceCandidate) => {
      if (!candidate || this.closed) return;
      const json = candidate.toJSON();
      context.onIceCandidate(role, { ...json, candidate: announceAddress(json.candidate, context.options) });
    });
    pc.connectionStateChange.subscribe((state) => {
      if (this.closed) return;
      if (state === 'connected' && !this.#connectedOnce) {
        this.#connectedOnce = true;
        context.metrics.connectSeconds.observe({ peer: role }, (performance.now() - this.#startedAt) / 1000);
      }
      context.onConnectionState(role, state);
    });
  }

  async addIceCandidate(candidate: IceCandidateJson): Promise<void> {
    if (this.closed) return;
    // An mDNS name (RFC 8828 §5.1) would make werift multicast a query on the server's network; the client's
    // checks reveal its address as a peer-reflexive candidate anyway (what LiveKit and mediasoup rely on too).
    if (MDNS_CANDIDATE.test(candidate.candidate)) return;
    try {
      await this.pc.addIceCandidate({
        candidate: candidate.candidate,
        sdpMid: candidate.sdpMid ?? undefined,
        sdpMLineIndex: candidate.sdpMLineIndex ?? undefined,
        usernameFragment: candidate.usernameFragment ?? undefined,
      });
    } catch (error) {
      throw new InvalidSdpError(`cannot add ICE candidate: ${(error as Error).message}`);
    }
  }

  /** The local description's SDP, with the announced address in place of the listen address. */
  protected localSdp(): string {
    const sdp = this.pc.localDescription?.sdp;
    if (!sdp) throw new InvalidSdpError('no local description');
    return announceAddress(sdp, this.context.options);
  }

  protected static extensionIds(transceiver: RTCRtpTransceiver): ExtensionIdMap {
    const map: ExtensionIdMap = {};
    for (const ext of transceiver.headerExtensions) map[ext.id] = ext.uri;
    return map;
  }

  /** Closes the connection; its socket closes (and its port returns to the pool) even if ICE is still gathering. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    void closePeerConnection(this.pc);
  }
}
