import type { IceCandidateInit, PeerTargetName } from '../../signaling/messages.js';
import { NegotiationQueue } from './negotiation-queue.js';

export interface PeerTransportHooks {
  /** A local ICE candidate to trickle to the server with this transport's target. */
  localCandidate(target: PeerTargetName, candidate: IceCandidateInit): void;
  /** The browser refused a remote candidate. */
  candidateFailed(target: PeerTargetName, err: unknown): void;
  /** ICE or DTLS failed for good (`connectionState` "failed"). */
  connectionFailed?(target: PeerTargetName): void;
}

/**
 * One RTCPeerConnection to the SFU plus what every negotiation needs: a queue that serializes offer/answer
 * rounds, trickle ICE out, and remote candidates held back until a remote description exists.
 */
export class PeerTransport {
  readonly pc: RTCPeerConnection;
  private readonly queue = new NegotiationQueue();
  private readonly pendingCandidates: RTCIceCandidateInit[] = [];
  private closed = false;

  constructor(
    readonly target: PeerTargetName,
    config: RTCConfiguration,
    private readonly hooks: PeerTransportHooks,
  ) {
    this.pc = new RTCPeerConnection(config);
    this.pc.onconnectionstatechange = () => {
      if (this.pc.connectionState === 'failed' && !this.closed) this.hooks.connectionFailed?.(this.target);
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
