import type { RTCIceCandidate, RTCPeerConnection, RTCRtpTransceiver } from 'werift';
import type { Logger } from 'pino';
import { InvalidSdpError, RateLimitedError } from '../errors.js';
import type { ExtensionIdMap } from '../media/header-extensions.js';
import { announceAddress, closePeerConnection } from './peer-factory.js';
import { IceRestartAllowance } from './ice-restart-allowance.js';
import type { SfuMetrics } from '../sfu-metrics.js';
import type { SfuOptions } from '../sfu-options.js';
import type { IceCandidateJson, PeerRole } from '../sfu-types.js';

export interface PeerContext {
  options: SfuOptions;
  metrics: SfuMetrics;
  logger: Logger;
  onIceCandidate(role: PeerRole, candidate: IceCandidateJson): void;
  onConnectionState(role: PeerRole, state: string): void;
  /** An ICE restart began (`started`), or ICE connected again after it (`completed`); a failed one ends in `failed` state. */
  onIceRestart(role: PeerRole, phase: 'started' | 'completed'): void;
}

/** The connection-address field of a candidate line is a `.local` name. */
const MDNS_CANDIDATE = /^(?:candidate:)?\S+ \d+ \S+ \d+ \S+\.local /i;

/** What the publisher and subscriber connections share: trickle ICE, state reporting, ICE restarts, close. */
export abstract class PeerBase {
  protected closed = false;
  /**
   * Set while a restart's description is applied: werift gathers its host candidate again inside
   * setLocalDescription, and that candidate, trickled ahead of the description carrying the new credentials, is
   * one the client cannot match to any description it has; the description itself lists it.
   */
  protected holdCandidates = false;
  readonly #startedAt = performance.now();
  #connectedOnce = false;
  readonly #restarts: IceRestartAllowance;
  /** When the ICE restart in progress began (performance.now()). */
  #restartedAt?: number;

  constructor(
    readonly role: PeerRole,
    protected readonly pc: RTCPeerConnection,
    protected readonly context: PeerContext,
  ) {
    this.#restarts = new IceRestartAllowance(context.options.iceRestartBurst, context.options.iceRestartIntervalMs, this.#startedAt);
    pc.onIceCandidate.subscribe((candidate?: RTCIceCandidate) => {
      if (!candidate || this.closed || this.holdCandidates) return;
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
    // After a restart werift reports `completed` once gathering ends and `connected` once checks nominate a pair.
    pc.iceConnectionStateChange.subscribe((state) => {
      if (this.closed || this.#restartedAt === undefined || state !== 'connected') return;
      const seconds = (performance.now() - this.#restartedAt) / 1000;
      this.#restartedAt = undefined;
      context.metrics.iceRestartSeconds.observe({ peer: role }, seconds);
      context.logger.info({ peer: role, ms: Math.round(seconds * 1000) }, 'ICE restart completed');
      context.onIceRestart(role, 'completed');
    });
  }

  /** Whether an ICE restart began and ICE has not connected again since. */
  get restartingIce(): boolean {
    return this.#restartedAt !== undefined;
  }

  /** Takes one restart from the connection's allowance, or throws RateLimitedError (nothing done). */
  protected allowIceRestart(): void {
    if (this.#restarts.take(performance.now())) return;
    this.context.metrics.iceRestartsRefused.inc({ peer: this.role });
    const { iceRestartBurst, iceRestartIntervalMs } = this.context.options;
    throw new RateLimitedError(`the ${this.role} connection restarted ICE too often (${iceRestartBurst} in a row, then one per ${iceRestartIntervalMs} ms)`);
  }

  /** werift's ICE agent restarted (new local credentials, checks to come): counted, logged, told to the owner. */
  protected iceRestarted(): void {
    this.#restartedAt = performance.now();
    this.context.metrics.iceRestarts.inc({ peer: this.role });
    this.context.logger.info({ peer: this.role }, 'ICE restart');
    this.context.onIceRestart(this.role, 'started');
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
