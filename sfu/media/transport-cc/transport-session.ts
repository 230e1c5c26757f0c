import type { RTCDtlsTransport, RtcpPacket, RtpPacket } from 'werift';
import { encodeTransportFeedback } from './feedback-encoder.js';
import { FeedbackRecorder } from './feedback-recorder.js';
import { PacketChunkWriter } from './packet-chunks.js';

/** What a transport session needs from the peer-connection-wide feedback object. */
export interface TransportSessionContext {
  /** Lookup table by id of the negotiated transport-cc header extension ids, read per packet (renegotiation may change it). */
  extensionIds(): Uint8Array | undefined;
  nowUs(): number;
  maxPacketBytes: number;
  onSent(ok: boolean): void;
}

/**
 * Transport-wide feedback for one DTLS transport, i.e. one transport-wide sequence space
 * (draft-holmer-rmcat-transport-wide-cc-extensions-01 §2): every SRTP packet werift decrypts on it is recorded,
 * whatever m-section it belongs to, and the feedback goes back on the same transport's SRTCP.
 */
export class TransportSession {
  private readonly recorder: FeedbackRecorder;
  private readonly writer = new PacketChunkWriter();
  private readonly unsubscribe: () => void;

  constructor(
    private readonly dtls: RTCDtlsTransport,
    senderSsrc: number,
    private readonly context: TransportSessionContext,
  ) {
    this.recorder = new FeedbackRecorder({ senderSsrc, maxPacketBytes: context.maxPacketBytes });
    this.unsubscribe = dtls.onRtp.subscribe(this.onRtp).unSubscribe;
  }

  /** Per packet: find the transport-wide sequence number (§2) and note its arrival. Allocates nothing. */
  private readonly onRtp = (packet: RtpPacket): void => {
    const ids = this.context.extensionIds();
    if (ids === undefined) return;
    const extensions = packet.header.extensions;
    for (let i = 0; i < extensions.length; i++) {
      const extension = extensions[i];
      if (ids[extension.id] !== 1) continue;
      if (extension.payload.length >= 2) {
        this.recorder.record(extension.payload.readUInt16BE(0), this.context.nowUs(), packet.header.ssrc);
      }
      return;
    }
  };

  /** Builds what is due and sends each feedback packet in its own SRTCP packet (reduced-size RTCP, RFC 5506). */
  sendFeedback(nowUs: number): void {
    const feedbacks = this.recorder.buildFeedback(nowUs);
    if (feedbacks.length === 0 || !this.dtls.srtpStarted || this.dtls.state !== 'connected') return;
    for (const feedback of feedbacks) {
      const bytes = encodeTransportFeedback(feedback, this.writer);
      this.dtls.sendRtcp([rawRtcp(bytes)]).then(
        () => this.context.onSent(true),
        () => this.context.onSent(false),
      );
    }
  }

  close(): void {
    this.unsubscribe();
  }
}

/** werift's sendRtcp() only calls serialize() on each packet, so already encoded bytes pass through as they are. */
function rawRtcp(bytes: Buffer): RtcpPacket {
  return { serialize: () => bytes } as unknown as RtcpPacket;
}
