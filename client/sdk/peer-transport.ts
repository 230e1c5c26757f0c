import type { IceCandidateInit, PeerTargetName } from '../../signaling/messages.js';
import { DEFAULT_ICE_RECOVERY_TIMING, IceRecovery, type IceRecoveryTiming, type IceTroubleReason } from './ice-recovery.js';
import { NegotiationQueue } from './negotiation-queue.js';

export interface PeerTransportHooks {
  /** A local ICE candidate to trickle to the server with this transport's target. */
  localCandidate(target: PeerTargetName, candidate: IceCandidateInit): void;
  /** The browser refused a remote candidate. */
  candidateFailed(target: PeerTargetName, err: unknown): void;
  /** The connection was cut (disconnected for a while, or failed) and restarts ICE (ice-recovery.ts). */
  iceRestarting?(target: PeerTargetName, reason: IceTroubleReason): void;
  /** Connected again after ICE restarts. */
  iceRestarted?(target: PeerTargetName, outageMs: number, restarts: number): void;
  /** Connected for the first time, `ms` after the first negotiation began (connect-timings.ts). */
  iceConnected?(target: PeerTargetName, pc: RTCPeerConnection, ms: number): void;
  /** ICE restarts did not bring the connection back in time: only a new join can. */
  connectionFailed?(target: PeerTargetName): void;
  /** How long the connection waits before restarting, and restarts before giving up. */
  iceRecoveryTiming?: IceRecoveryTiming;
}

/**
 * One RTCPeerConnection to the SFU plus what every negotiation needs: a queue that serializes offer/answer
 * rounds, trickle ICE out, remote candidates held back until a remote description exists, and ICE restarts when
 * the connection is cut (`restartIce`, the owner's: an offer of its own, or a request to the server).
 */
export class PeerTransport {
  readonly pc: RTCPeerConnection;
  private readonly queue = new NegotiationQueue();
  private readonly pendingCandidates: RTCIceCandidateInit[] = [];
  private readonly recovery: IceRecovery;
  private closed = false;
  /** When the first negotiation began: the ICE connect time reported once connected counts from it. */
  private firstNegotiationAt: number | undefined;
  private connectedOnce = false;

  constructor(
    readonly target: PeerTargetName,
    config: RTCConfiguration,
    private readonly hooks: PeerTransportHooks,
    restartIce: () => void,
  ) {
    this.pc = new RTCPeerConnection(config);
    this.recovery = new IceRecovery(
      {
        restart: restartIce,
        restarting: (reason) => this.hooks.iceRestarting?.(this.target, reason),
        restored: (outageMs, restarts) => this.hooks.iceRestarted?.(this.target, outageMs, restarts),
        giveUp: () => this.hooks.connectionFailed?.(this.target),
      },
      hooks.iceRecoveryTiming ?? DEFAULT_ICE_RECOVERY_TIMING,
    );
    this.pc.onconnectionstatechange = () => {
      if (this.closed) return;
      if (this.pc.connectionState === 'connected' && !this.connectedOnce && this.firstNegotiationAt !== undefined) {
        this.connectedOnce = true;
        this.hooks.iceConnected?.(this.target, this.pc, performance.now() - this.firstNegotiationAt);
      }
      this.recovery.update(this.pc.connectionState);
    };
    this.pc.onicecandidate = (event) => {
      // null = gathering finished, '' = end of candidates for a generation: nothing to trickle.
      if (event.candidate === null || event.candidate.candidate === '') return;
      const c = event.candidate;
      this.hooks.localCandidate(this.target, {
        candidate: c.candidate,
        sdpMid: c.sdpMid,
        sdpMLineIndex: c.sdpMLineIndex,
        usernameFragment: c.usernameFragment,
      });
    };
  }

  /** Runs one offer/answer round after the previous one has finished. */
  negotiate<T>(task: () => Promise<T>): Promise<T> {
    this.firstNegotiationAt ??= performance.now();
    return this.queue.run(task);
  }

  /** Applies the remote description, then every candidate that arrived before it. */
  async setRemoteDescription(description: RTCSessionDescriptionInit): Promise<void> {
    await this.pc.setRemoteDescription(description);
    for (const candidate of this.pendingCandidates.splice(0)) await this.addCandidate(candidate);
  }

  async addRemoteCandidate(candidate: IceCandidateInit): Promise<void> {
    if (this.closed) return;
    const init: RTCIceCandidateInit = {
      candidate: candidate.candidate,
      sdpMid: candidate.sdpMid ?? null,
      sdpMLineIndex: candidate.sdpMLineIndex ?? null,
      usernameFragment: candidate.usernameFragment ?? null,
    };
    if (this.pc.remoteDescription === null) {
      this.pendingCandidates.push(init);
      return;
    }
    await this.addCandidate(init);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.recovery.close();
    this.pendingCandidates.length = 0;
    this.pc.onicecandidate = null;
    this.pc.close();
  }

  private async addCandidate(candidate: RTCIceCandidateInit): Promise<void> {
    try {
      await this.pc.addIceCandidate(candidate);
    } catch (err) {
      if (!this.closed) this.hooks.candidateFailed(this.target, err);
    }
  }
}
