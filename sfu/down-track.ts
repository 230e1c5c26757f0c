import {
  GenericNack,
  RtpHeader,
  serializeAbsSendTime,
  serializeSdesMid,
  serializeTransportWideCC,
  wrapRtx,
  type RTCRtpTransceiver,
  type RtcpPacket,
  type RtpPacket,
} from 'werift';
import { DropReason, Forwarder, type ForwardResult } from './forwarder.js';
import { buildExtensionRemap, remapExtensions, type ExtensionIdMap, type RtpExtension } from './header-extensions.js';
import type { PublishedTrack } from './published-track.js';
import type { SfuMetrics } from './sfu-metrics.js';

const URI_MID = 'urn:ietf:params:rtp-hdrext:sdes:mid';
const URI_TWCC = 'http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01';
const URI_ABS_SEND_TIME = 'http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time';
const RTCP_PSFB = 206;
const FIR_FMT = 4;
/** RTP clock ticks between two sources: one 30 fps frame of video, one 20 ms Opus frame. */
const TIMESTAMP_STEP = { video: 3000, audio: 960 } as const;

/** Seconds since 1900 in NTP 32.32 fixed point, as abs-send-time wants (it keeps 6.18 bits of it). */
function ntpNow(): bigint {
  const ms = Date.now() + 2_208_988_800_000;
  return (BigInt(Math.floor(ms / 1000)) << 32n) | BigInt(Math.floor(((ms % 1000) / 1000) * 0x1_0000_0000));
}

/**
 * One published track sent to one subscriber (LiveKit's DownTrack): applies the Forwarder's decision,
 * rewrites SSRC, payload type, numbering and header extensions, and answers this subscriber's NACKs from
 * the track's shared packet cache (over RTX when negotiated) and its PLI/FIR by asking the publisher.
 */
export class DownTrack {
  readonly track: PublishedTrack;
  readonly transceiver: RTCRtpTransceiver;
  readonly #forwarder: Forwarder;
  readonly #result: ForwardResult = { sequenceNumber: 0, timestamp: 0 };
  readonly #metrics: SfuMetrics;
  readonly #kind: 'audio' | 'video';
  readonly #unsubscribers: (() => void)[] = [];
  #extensionTable?: Uint8Array;
  #ids = { mid: 0, twcc: 0, absSendTime: 0 };
  #midBytes?: Buffer;
  #payloadType = -1;
  #rtxPayloadType = -1;
  #rtxSequenceNumber = Math.floor(Math.random() * 0x10000);
  #closed = false;

  constructor(track: PublishedTrack, transceiver: RTCRtpTransceiver, metrics: SfuMetrics) {
    this.track = track;
    this.transceiver = transceiver;
    this.#metrics = metrics;
    this.#kind = track.kind;
    this.#forwarder = new Forwarder(track.kind === 'video', TIMESTAMP_STEP[track.kind]);
    const sender = transceiver.sender;
    this.#unsubscribers.push(
      sender.onGenericNack.subscribe((nack) => this.#onNack(nack)).unSubscribe,
      sender.onPictureLossIndication.subscribe(() => this.track.requestKeyframe('subscriber-pli')).unSubscribe,
      sender.onRtcp.subscribe((packet) => this.#onRtcp(packet)).unSubscribe,
    );
    track.addDownTrack(this);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Called once the subscriber connection has negotiated this m-line: learn payload types and extension ids. */
  negotiated(subscriberExtensions: ExtensionIdMap): void {
    const codecs = this.transceiver.codecs;
    const primary = codecs.find((c) => !/\/(rtx|red)$/i.test(c.mimeType));
    this.#payloadType = primary?.payloadType ?? -1;
    const rtx = codecs.find((c) => /\/rtx$/i.test(c.mimeType) && c.parameters?.includes(`apt=${this.#payloadType}`));
    this.#rtxPayloadType = rtx?.payloadType ?? -1;
    this.#extensionTable = buildExtensionRemap(this.track.extensions, subscriberExtensions);
    const idOf = (uri: string) => Number(Object.entries(subscriberExtensions).find(([, u]) => u === uri)?.[0] ?? 0);
    this.#ids = { mid: idOf(URI_MID), twcc: idOf(URI_TWCC), absSendTime: idOf(URI_ABS_SEND_TIME) };
    this.#midBytes = this.transceiver.mid ? serializeSdesMid(this.transceiver.mid) : undefined;
    if (this.#kind === 'video') this.track.requestKeyframe('subscribe');
  }

  /** Per-packet entry point from the PublishedTrack. */
  forward(packet: RtpPacket, keyframe: boolean): void {
    if (this.#closed || this.#payloadType < 0) return;
    const dtls = this.transceiver.sender.dtlsTransport;
    if (!dtls || dtls.state !== 'connected') return;
    const header = packet.header;
    const drop = this.#forwarder.decide(header.ssrc, header.sequenceNumber, header.timestamp, keyframe, this.#result);
    if (drop !== DropReason.None) {
      if (drop === DropReason.WaitingForKeyframe) this.track.requestKeyframe('waiting');
      return;
    }
    this.#send(packet, this.#result.sequenceNumber, this.#result.timestamp, this.#payloadType, this.transceiver.sender.ssrc);
    this.#metrics.packetsForwarded.inc({ kind: this.#kind });
    this.#metrics.bytesForwarded.inc({ kind: this.#kind }, packet.payload.length);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const unsubscribe of this.#unsubscribers) unsubscribe();
    this.#unsubscribers.length = 0;
    this.track.removeDownTrack(this);
  }

  #send(packet: RtpPacket, sequenceNumber: number, timestamp: number, payloadType: number, ssrc: number): void {
    const dtls = this.transceiver.sender.dtlsTransport;
    const extensions: RtpExtension[] = [];
    if (this.#ids.mid && this.#midBytes) extensions.push({ id: this.#ids.mid, payload: this.#midBytes });
    if (this.#ids.twcc) {
      dtls.transportSequenceNumber = (dtls.transportSequenceNumber + 1) & 0xffff;
      extensions.push({ id: this.#ids.twcc, payload: serializeTransportWideCC(dtls.transportSequenceNumber) });
    }
    if (this.#ids.absSendTime) extensions.push({ id: this.#ids.absSendTime, payload: serializeAbsSendTime(ntpNow()) });
    if (this.#extensionTable) remapExtensions(packet.header.extensions, this.#extensionTable, extensions);
    extensions.sort((a, b) => a.id - b.id);
    const header = new RtpHeader({
      payloadType,
      sequenceNumber,
      timestamp,
      ssrc,
      marker: packet.header.marker,
      padding: false,
      extension: extensions.length > 0,
      extensionProfile: 0xbede,
      extensions,
    });
    void dtls.sendRtp(packet.payload, header);
  }

  #onNack(nack: GenericNack): void {
    this.#metrics.nacksReceived.inc();
    const cache = this.track.cache;
    if (!cache || this.#closed) return;
    for (const lost of nack.lost) {
      const original = cache.get(this.#forwarder.incomingSequenceNumber(lost));
      if (!original) continue;
      const sender = this.transceiver.sender;
      if (this.#rtxPayloadType >= 0) {
        // RFC 4588 §4: the RTX payload starts with the original sequence number, as the subscriber knows it.
        const rtx = wrapRtx(original, this.#rtxPayloadType, this.#rtxSequenceNumber, sender.rtxSsrc);
        rtx.payload.writeUInt16BE(lost, 0);
        this.#rtxSequenceNumber = (this.#rtxSequenceNumber + 1) & 0xffff;
        this.#send(rtx, rtx.header.sequenceNumber, this.#forwarder.outgoingTimestamp(original.header.timestamp), this.#rtxPayloadType, sender.rtxSsrc);
      } else {
        this.#send(original, lost, this.#forwarder.outgoingTimestamp(original.header.timestamp), this.#payloadType, sender.ssrc);
      }
      this.#metrics.packetsRetransmitted.inc();
    }
  }

  #onRtcp(packet: RtcpPacket): void {
    // werift surfaces PLI itself; FIR (RFC 5104 §4.3.1) arrives here as a payload-specific feedback.
    if (packet.type === RTCP_PSFB && (packet as { feedback?: { count?: number } }).feedback?.count === FIR_FMT) {
      this.track.requestKeyframe('subscriber-pli');
    }
  }
}
