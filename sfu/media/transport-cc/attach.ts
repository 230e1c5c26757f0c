import { performance } from 'node:perf_hooks';
import type { RTCDtlsTransport, RTCPeerConnection, RTCRtpReceiver } from 'werift';
import { InvalidStateError } from '../../errors.js';
import { TRANSPORT_CC_EXTENSION_URI } from './feedback-types.js';
import { findExtensionIds } from './sdp-extension-id.js';
import { TransportSession, type TransportSessionContext } from './transport-session.js';

export interface TransportCcOptions {
  /** How often feedback is sent, in ms (libwebrtc sends every 50–250 ms). Default 50. */
  intervalMs?: number;
  /** Upper bound of one feedback packet in bytes. Default 1200. */
  maxPacketBytes?: number;
  /** Microsecond clock for arrival times. Default `performance.now() * 1000`. */
  nowUs?: () => number;
}

export const transportCcDefaults = { intervalMs: 50, maxPacketBytes: 1200 } as const;

const defaultNowUs = () => performance.now() * 1000;

/**
 * Sends correct transport-wide congestion control feedback (draft-holmer-rmcat-transport-wide-cc-extensions-01)
 * to the publisher on the other end of `pc`, a werift peer connection on which the SFU receives media, in place
 * of werift's own, malformed, feedback. See {@link TransportCcFeedback}.
 */
export function attachTransportCc(pc: RTCPeerConnection, options: TransportCcOptions = {}): TransportCcFeedback {
  return new TransportCcFeedback(pc, options);
}

/**
 * One per peer connection. For each DTLS transport of `pc` (one when bundled: one sequence space for audio and
 * video) it records the transport-wide sequence number and arrival time of every SRTP packet, before werift
 * routes it (so padding and RTX probes count too), and sends the feedback every `intervalMs` on that transport.
 * It follows renegotiation (new transceivers, transports and extension ids) and closes itself with `pc`.
 */
export class TransportCcFeedback {
  private readonly intervalMs: number;
  private readonly maxPacketBytes: number;
  private readonly nowUs: () => number;
  private readonly sessions = new Map<RTCDtlsTransport, TransportSession>();
  private readonly patchedReceivers = new WeakSet<RTCRtpReceiver>();
  private readonly unsubscribes: (() => void)[] = [];
  private readonly timer: NodeJS.Timeout;
  private extensionIds: Uint8Array | undefined;
  private sent = 0;
  private sendFailures = 0;
  private isClosed = false;
  private readonly context: TransportSessionContext = {
    extensionIds: () => this.extensionIds,
    nowUs: () => this.nowUs(),
    maxPacketBytes: 0,
    onSent: (ok) => {
      if (ok) this.sent++;
      else this.sendFailures++;
    },
  };

  constructor(
    private readonly pc: RTCPeerConnection,
    options: TransportCcOptions,
  ) {
    this.intervalMs = options.intervalMs ?? transportCcDefaults.intervalMs;
    this.maxPacketBytes = options.maxPacketBytes ?? transportCcDefaults.maxPacketBytes;
    this.nowUs = options.nowUs ?? defaultNowUs;
    this.context.maxPacketBytes = this.maxPacketBytes;
    const sweep = () => this.sweep();
    this.unsubscribes.push(
      pc.onTransceiverAdded.subscribe(sweep).unSubscribe,
      pc.onRemoteTransceiverAdded.subscribe(sweep).unSubscribe,
      pc.signalingStateChange.subscribe(() => {
        this.refreshExtensionIds();
        this.sweep();
      }).unSubscribe,
      pc.connectionStateChange.subscribe((state) => {
        if (state === 'closed') this.close();
      }).unSubscribe,
    );
    this.refreshExtensionIds();
    this.sweep();
    this.timer = setInterval(() => this.tick(), this.intervalMs);
    this.timer.unref();
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** The negotiated ids of the transport-cc header extension, empty before negotiation or if refused. */
  get transportCcExtensionIds(): number[] {
    const ids: number[] = [];
    this.extensionIds?.forEach((isTransportCc, id) => isTransportCc && ids.push(id));
    return ids;
  }

  /** Feedback packets handed to werift's RTCP send path, and sends that failed. */
  get stats(): { feedbackPacketsSent: number; sendFailures: number; transports: number } {
    return { feedbackPacketsSent: this.sent, sendFailures: this.sendFailures, transports: this.sessions.size };
  }

  /** Stops recording and sending; idempotent. werift's own feedback stays disabled on the receivers. */
  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    clearInterval(this.timer);
    for (const unsubscribe of this.unsubscribes) unsubscribe();
    this.unsubscribes.length = 0;
    for (const session of this.sessions.values()) session.close();
    this.sessions.clear();
  }

  /** Sends the feedback due now; exposed for tests that do not want to wait for the timer. */
  flush(): void {
    if (this.isClosed) throw new InvalidStateError('transport-cc feedback is closed');
    this.tick();
  }

  private tick(): void {
    if (this.isClosed) return;
    this.sweep();
    const now = this.nowUs();
    for (const session of this.sessions.values()) session.sendFeedback(now);
  }

  /** Adopts transports and receivers that negotiation added, drops transports it removed. */
  private sweep(): void {
    if (this.isClosed) return;
    const transceivers = this.pc.getTransceivers();
    for (const transceiver of transceivers) this.disableWeriftTwcc(transceiver.receiver);
    const live = this.pc.dtlsTransports;
    for (const dtls of live) {
      if (this.sessions.has(dtls)) continue;
      const owner = transceivers.find((t) => t.receiver.dtlsTransport === dtls);
      this.sessions.set(dtls, new TransportSession(dtls, owner?.receiver.rtcpSsrc ?? randomSsrc(), this.context));
    }
    for (const [dtls, session] of this.sessions) {
      if (live.includes(dtls)) continue;
      session.close();
      this.sessions.delete(dtls);
    }
  }

  private disableWeriftTwcc(receiver: RTCRtpReceiver): void {
    if (this.patchedReceivers.has(receiver)) return;
    this.patchedReceivers.add(receiver);
    // werift 0.25.2 has no switch for its malformed per-receiver TWCC: handleRTP() calls setupTWCC(), so make that a no-op on this instance.
    receiver.setupTWCC = () => {};
    if (receiver.receiverTWCC) {
      receiver.receiverTWCC.twccRunning = false;
      receiver.receiverTWCC = undefined;
    }
  }

  /**
   * Reads the ids from the remote description: an answer echoes the offer's ids (RFC 8285 §6), and werift stores
   * the remote description before it announces the signaling state, whereas the local one is stored after.
   */
  private refreshExtensionIds(): void {
    const sdp = this.pc.remoteDescription?.sdp;
    this.extensionIds = sdp ? findExtensionIds(sdp, TRANSPORT_CC_EXTENSION_URI) : undefined;
  }
}

function randomSsrc(): number {
  return (Math.random() * 0x1_0000_0000) >>> 0;
}
