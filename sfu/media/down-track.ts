import {
  GenericNack,
  PictureLossIndication,
  RtcpPayloadSpecificFeedback,
  RtcpTransportLayerFeedback,
  serializeSdesMid,
  type RTCDtlsTransport,
  type RTCRtpCodecParameters,
  type RtcpPacket,
  type RtpPacket,
} from 'werift';
import { DropReason, Forwarder, type ForwardResult } from './forwarder.js';
import { buildExtensionRemap, extensionIdOf, type ExtensionIdMap } from './header-extensions.js';
import type { PublishedTrack } from './published-track.js';
import type { TrackLayer } from './track-layer.js';
import { NO_TEMPORAL_LIMIT, Vp8Munger, Vp8Verdict } from '../simulcast/vp8-munger.js';
import { RetransmitGate } from './rtp/retransmit-gate.js';
import { RtpHeaderWriter } from './rtp/rtp-header-writer.js';
import { roundTripMs, rtpTimestampAt, rtpTimestampFromReport, writeSenderReport, type SenderStats } from './rtp/sender-report.js';
import { SenderReportTimer, type SenderReportSource } from './rtp/sender-report-timer.js';
import type { SrtpSender } from './rtp/srtp-sender.js';
import { sendProtected, srtpSenderFor, srtpSessionOf } from './rtp/werift-transport.js';
import type { ForwardedTally, SfuMetrics } from '../sfu-metrics.js';
import type { SentPackets } from '../bwe/sent-packets.js';
import type { PaddingSource } from '../bwe/prober.js';

const URI_MID = 'urn:ietf:params:rtp-hdrext:sdes:mid';
const URI_TWCC = 'http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01';
const RTCP_SR = 200;
const RTCP_RR = 201;
const FIR_FMT = 4;
/** RTP clock ticks between two sources: one 30 fps frame of video, one 20 ms Opus frame. */
const TIMESTAMP_STEP = { video: 3000, audio: 960 } as const;
/** No original sequence number: a packet sent as itself, not wrapped in RTX. */
const NOT_RTX = -1;
/** A silent allocated layer is waited for this long before a higher one is forwarded instead (no black video). */
const HOLD_SILENT_LAYER_MS = 3000;
/** #send runs from reset() to write() without yielding, so one header writer serves every down track (4 KB each otherwise). */
const sharedHeaderWriter = new RtpHeaderWriter();

/** The m-line a down track is sent on: written by its subscriber connection (sfu/peer/subscriber-peer.ts). */
export interface DownTrackLine {
  readonly mid: string;
  readonly ssrc: number;
  /** RTX (RFC 4588) SSRC, when `codecs[1]` is the publisher codec's RTX. */
  readonly rtxSsrc?: number;
  /** The publisher's codec, then its RTX when there is one, as offered. */
  readonly codecs: readonly RTCRtpCodecParameters[];
  readonly dtlsTransport: RTCDtlsTransport;
  /** The connection's transport-wide record (sequence numbers, send times) for its bandwidth estimate. */
  readonly sent: SentPackets;
}

/** Why a down track's layer changes: its subscriber's downlink, its subscriber's settings, or the publisher's layers. */
export type LayerSwitchReason = 'bandwidth' | 'settings' | 'availability';

/** Unix time in ms with sub-millisecond precision (abs-send-time counts in 1/262144 s). */
const nowMs = () => performance.timeOrigin + performance.now();

/**
 * One published track sent to one subscriber (LiveKit's DownTrack): applies the Forwarder's decision,
 * rewrites SSRC, payload type, numbering and header extensions, and answers this subscriber's NACKs from
 * the track's shared packet cache (over RTX when negotiated, paced by a RetransmitGate) and its PLI/FIR by
 * asking the publisher. Contributes a Sender Report to its connection's SenderReportTimer.
 *
 * The send path allocates one buffer per packet (the datagram, which the socket holds until sent): the
 * header is written into it by a reusable RtpHeaderWriter, the payload copied after it and protected in
 * place by the transport's SrtpSender, then handed to the ICE connection without awaiting.
 */
export class DownTrack implements SenderReportSource, PaddingSource {
  readonly track: PublishedTrack;
  readonly line: DownTrackLine;
  readonly #forwarder: Forwarder;
  readonly #result: ForwardResult = { sequenceNumber: 0, timestamp: 0, newest: false };
  readonly #metrics: SfuMetrics;
  readonly #kind: 'audio' | 'video';
  /** What this track's kind has forwarded, counted per packet with plain additions (SfuMetrics' `forwarded`). */
  readonly #forwarded: ForwardedTally;
  /** Made at the first NACK: most down tracks of a large room never see one, and a gate holds 13 KB. */
  #gate?: RetransmitGate;
  #roundTripMs?: number;
  /** What the Sender Reports say about the primary SSRC (RFC 3550 §6.4.1). */
  readonly #stats: SenderStats = { ssrc: 0, packetCount: 0, octetCount: 0, lastRtpTimestamp: 0, lastSentAtMs: 0, clockRate: 90000 };
  #extensionTable?: Uint8Array;
  #ids = { mid: 0, twcc: 0 };
  #midBytes?: Buffer;
  #payloadType = -1;
  #rtxPayloadType = -1;
  #rtxSequenceNumber = Math.floor(Math.random() * 0x10000);
  #srtp?: SrtpSender;
  #srtpSession?: object;
  #reports?: SenderReportTimer;
  /** Whether this down track has asked for its first key frame (once, when it could first send). */
  #askedForKeyframe = false;
  #closed = false;
  /** The layer being forwarded (simulcast); undefined before the first packet. */
  #current?: TrackLayer;
  /** The highest layer this subscriber may receive (its allocation); the top one by default. */
  #maxLayer: number;
  /** Why #maxLayer was last set. */
  #maxLayerReason: LayerSwitchReason = 'settings';
  /** Set on a layer switch or a resume, cleared by the first packet forwarded after it. */
  #switched = false;
  #paused = false;
  /**
   * VP8: keeps PictureID, TL0PICIDX and KEYIDX continuous across layer switches (simulcast) and dropped temporal
   * layers. Made with the down track for simulcast, and at the first temporal limit otherwise: until then a single
   * stream passes as it is, and a munger would only cost a parse per packet.
   */
  #vp8?: Vp8Munger;
  readonly #vp8Options = { switched: false, maxTemporalLayer: NO_TEMPORAL_LIMIT };

  constructor(track: PublishedTrack, line: DownTrackLine, metrics: SfuMetrics) {
    this.track = track;
    this.line = line;
    this.#metrics = metrics;
    this.#kind = track.kind;
    this.#forwarded = metrics.forwarded[track.kind];
    this.#forwarder = new Forwarder(track.kind === 'video', TIMESTAMP_STEP[track.kind]);
    this.#maxLayer = track.layers.length - 1;
    if (track.simulcast && this.#isVp8()) this.#vp8 = new Vp8Munger();
    track.addDownTrack(this);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** The index of the layer being forwarded (0 is the lowest), or -1 before the first packet. */
  get currentLayer(): number {
    return this.#current?.index ?? -1;
  }

  get paused(): boolean {
    return this.#paused;
  }

  /** The highest layer this subscriber may receive (its allocation). */
  get maxLayer(): number {
    return this.#maxLayer;
  }

  /** Stops forwarding (the subscriber's link cannot carry even the lowest layer, or it hides the track) or resumes. */
  setPaused(paused: boolean): void {
    if (paused === this.#paused || this.#closed) return;
    this.#paused = paused;
    if (paused) this.#metrics.pausedDownTracks.inc();
    else this.#metrics.pausedDownTracks.dec();
    this.track.downTrackChanged();
    if (paused) {
      this.#forwarder.pause();
      return;
    }
    // Resumes at a key frame (the Forwarder waits for one; asked for as for a new down track).
    this.#forwarder.resume();
    this.#askedForKeyframe = false;
    this.#switched = true;
  }

  /** The track was muted on the server and is unmuted: numbering goes on without a gap, from a key frame for video. */
  sourceResumed(): void {
    if (this.#closed) return;
    this.#forwarder.restart();
    this.#askedForKeyframe = false;
  }

  /**
   * The highest layer this subscriber may receive. The switch happens at the next key frame of the layer
   * chosen (which is asked for); until then the current layer keeps flowing, so the picture never stops.
   */
  setMaxLayer(index: number, reason: LayerSwitchReason = 'settings'): void {
    const layer = Math.max(0, Math.min(index, this.track.layers.length - 1));
    if (layer === this.#maxLayer) return;
    this.#maxLayer = layer;
    this.#maxLayerReason = reason;
    this.track.downTrackChanged();
  }

  /** The highest VP8 temporal layer (TID) forwarded; NO_TEMPORAL_LIMIT forwards every frame. */
  get maxTemporalLayer(): number {
    return this.#vp8Options.maxTemporalLayer;
  }

  /**
   * Caps the VP8 temporal layer (frame rate) forwarded: lowered, from the next frame; raised, from the next frame the
   * subscriber can decode (Vp8Munger). Ignored for other codecs, which have no temporal layers to drop.
   */
  setMaxTemporalLayer(layer: number): void {
    const max = Math.max(0, Math.min(layer, NO_TEMPORAL_LIMIT));
    if (max === this.#vp8Options.maxTemporalLayer || !this.#isVp8()) return;
    this.#vp8Options.maxTemporalLayer = max;
    // Anchored on the next packet with the numbering it has (nothing was rewritten before it).
    this.#vp8 ??= new Vp8Munger();
  }

  #isVp8(): boolean {
    return this.#kind === 'video' && this.track.mimeType?.toLowerCase() === 'video/vp8';
  }

  /**
   * Called when the subscriber's answer first accepts this m-line, with the header extensions it accepted (id →
   * URI) and the payload types of its m= line. It asks for no key frame: a renegotiation must not make every
   * camera send one, and a new down track asks once it can send (see `forward`), when the key frame can reach
   * the subscriber.
   */
  negotiated(subscriberExtensions: ExtensionIdMap, payloadTypes: readonly number[]): void {
    // The publisher's codec (the SFU forwards and never transcodes), and its RTX when the answer kept it.
    const [primary, rtx] = this.line.codecs;
    this.#payloadType = primary && payloadTypes.includes(primary.payloadType) ? primary.payloadType : -1;
    this.#stats.clockRate = primary?.clockRate ?? (this.#kind === 'audio' ? 48000 : 90000);
    this.#rtxPayloadType = rtx && this.line.rtxSsrc !== undefined && payloadTypes.includes(rtx.payloadType) ? rtx.payloadType : -1;
    this.#extensionTable = buildExtensionRemap(this.track.extensions, subscriberExtensions);
    this.#ids = { mid: extensionIdOf(subscriberExtensions, URI_MID), twcc: extensionIdOf(subscriberExtensions, URI_TWCC) };
    this.#midBytes = serializeSdesMid(this.line.mid);
    if (!this.#reports && !this.#closed) this.#reports = SenderReportTimer.register(this.line.dtlsTransport, this);
  }

  /** Whether an answer has accepted this m-line with the publisher's codec (the down track can send). */
  get isNegotiated(): boolean {
    return this.#payloadType >= 0;
  }

  /** RTCP from the subscriber about this down track's SSRC (its connection routes it here). */
  handleRtcp(packet: RtcpPacket): void {
    if (this.#closed) return;
    if (packet instanceof RtcpTransportLayerFeedback) {
      if (packet.feedback instanceof GenericNack) this.#onNack(packet.feedback);
    } else if (packet instanceof RtcpPayloadSpecificFeedback) {
      // PLI (RFC 4585 §6.3.1) or FIR (RFC 5104 §4.3.1): the publisher is asked, at the track's bounded rate, for the
      // layer this subscriber is to receive. A congested subscriber about to switch down never makes the layer it
      // leaves (often the top one, which everyone else receives) encode a key frame.
      if ((packet.feedback instanceof PictureLossIndication || packet.feedback.count === FIR_FMT) && this.#current) {
        this.track.requestKeyframe('subscriber-pli', this.#wantedLayer(performance.now()));
      }
    } else if (packet.type === RTCP_RR || packet.type === RTCP_SR) {
      this.#onReports(packet);
    }
  }

  /**
   * Per-packet entry point from the PublishedTrack, with the packet's extended sequence number and
   * timestamp. The first packet that finds the transport connected and waits for a key frame asks the
   * publisher for one ('subscribe'); later waits ask again at the track's bounded rate ('waiting').
   */
  forward(packet: RtpPacket, layer: TrackLayer, extendedSeq: number, extendedTs: number, keyframe: boolean): void {
    if (this.#closed || this.#payloadType < 0) return;
    const dtls = this.line.dtlsTransport;
    if (dtls.state !== 'connected' || this.#paused) return;
    if (layer !== this.#current && !this.#switchTo(layer, keyframe, packet.header.timestamp)) return;
    const result = this.#result;
    const drop = this.#forwarder.decide(packet.header.ssrc, extendedSeq, extendedTs, keyframe, result);
    if (drop !== DropReason.None) {
      if (drop === DropReason.WaitingForKeyframe) {
        // The layer being waited on (simulcast: the one forwarded), not the track's lowest.
        this.track.requestKeyframe(this.#askedForKeyframe ? 'waiting' : 'subscribe', layer);
        this.#askedForKeyframe = true;
      }
      return;
    }
    this.#askedForKeyframe = true;
    let vp8 = Vp8Verdict.Unchanged;
    if (this.#vp8) {
      this.#vp8Options.switched = this.#switched;
      this.#switched = false;
      vp8 = this.#vp8.decide(packet.payload, this.#vp8Options);
      if (vp8 === Vp8Verdict.Drop) {
        // Its number goes to the next packet sent: the subscriber sees no gap (and NACKs none).
        this.#forwarder.drop(extendedSeq, this.#vp8.dropContinuesFrame);
        return;
      }
    }
    const ssrc = this.line.ssrc;
    const sentAt = this.#send(dtls, packet, result.sequenceNumber, result.timestamp, this.#payloadType, ssrc, NOT_RTX, vp8);
    if (sentAt === 0) return;
    const stats = this.#stats;
    stats.ssrc = ssrc;
    stats.packetCount = (stats.packetCount + 1) >>> 0;
    stats.octetCount = (stats.octetCount + packet.payload.length) >>> 0;
    // Only the newest packet moves the clock the fallback report extrapolates from; a late one would pull it back.
    if (result.newest) {
      stats.lastRtpTimestamp = result.timestamp;
      stats.lastSentAtMs = sentAt;
    }
    this.#forwarded.packets++;
    this.#forwarded.bytes += packet.payload.length;
  }

  /**
   * This down track's Sender Report, for the connection's report timer; nothing before the first packet.
   * Its RTP time comes from the publisher's own latest report on the source being forwarded (so audio and
   * video keep the publisher's relation: lip sync), translated by the forwarding offset; before the first
   * one, from the newest packet sent (rtpTimestampAt).
   */
  writeSenderReport(out: Buffer, offset: number, now: number): number {
    if (this.#closed || this.#stats.packetCount === 0) return 0;
    const report = this.#current && this.track.senderReport(this.#current);
    const rtpTimestamp = report !== undefined && report.ssrc === this.#forwarder.sourceSsrc
      ? rtpTimestampFromReport(this.#forwarder.outgoingTimestamp(report.rtpTimestamp), report.atMs, this.#stats.clockRate, now)
      : rtpTimestampAt(this.#stats, now);
    return writeSenderReport(out, offset, this.#stats, now, rtpTimestamp);
  }

  /**
   * A packet of another layer than the one forwarded: starts forwarding its layer when it is the layer this
   * subscriber should have now and the packet begins a key frame; otherwise asks for that key frame (at the
   * track's bounded rate) when it is the layer wanted, and drops the packet.
   */
  #switchTo(layer: TrackLayer, keyframe: boolean, timestamp: number): boolean {
    if (layer !== this.#wantedLayer(performance.now())) return false;
    if (this.#kind === 'video' && !keyframe) {
      this.track.requestKeyframe(this.#current ? 'layer-switch' : this.#askedForKeyframe ? 'waiting' : 'subscribe', layer);
      this.#askedForKeyframe = true;
      return false;
    }
    if (this.#current) {
      // To the allocated layer: why it was allocated; to another (the allocated one is not being sent): availability.
      const reason = layer.index === this.#maxLayer ? this.#maxLayerReason : 'availability';
      this.#metrics.layerSwitches.inc({ direction: layer.index > this.#current.index ? 'up' : 'down', reason });
      this.#alignTimestamps(this.#current, layer, timestamp);
    }
    this.#current = layer;
    this.#switched = true;
    return true;
  }

  /**
   * Gives the new layer's first packet the outgoing timestamp of the moment it was captured, through both layers'
   * Sender Reports (each maps its RTP clock to the publisher's wall clock, which the SFU's clock stands for): the
   * layers' timestamps have unrelated random bases, and the subscriber's jitter buffer and lip sync need one timeline.
   */
  #alignTimestamps(from: TrackLayer, to: TrackLayer, timestamp: number): void {
    const before = this.track.senderReport(from);
    const after = this.track.senderReport(to);
    if (!before || !after || before.ssrc !== this.#forwarder.sourceSsrc || after.ssrc !== to.ssrc) return;
    const clockRate = this.#stats.clockRate;
    const capturedAtMs = after.atMs + (((timestamp - after.rtpTimestamp) | 0) * 1000) / clockRate;
    const onOldTimeline = this.#forwarder.outgoingTimestamp(before.rtpTimestamp) + Math.round(((capturedAtMs - before.atMs) * clockRate) / 1000);
    this.#forwarder.alignNextSource(onOldTimeline >>> 0);
  }

  /**
   * The highest layer receiving packets up to the allocated one. When none is, the current one while it was heard
   * from lately (an encoder restarting its layers: going above the allocation would spend a congested subscriber's
   * link on a key frame of a layer it cannot carry); else the lowest receiving; else any.
   */
  #wantedLayer(now: number): TrackLayer {
    const layers = this.track.layers;
    if (layers.length === 1) return layers[0];
    let best: TrackLayer | undefined;
    for (const layer of layers) {
      if (!layer.active(now)) continue;
      if (layer.index <= this.#maxLayer || !best) best = layer;
      if (layer.index >= this.#maxLayer) break;
    }
    const current = this.#current;
    if (best && current && best.index > this.#maxLayer && now - current.lastPacketAt < HOLD_SILENT_LAYER_MS) return current;
    return best ?? current ?? layers[0];
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#paused) this.#metrics.pausedDownTracks.dec();
    this.#reports?.unregister(this);
    this.#reports = undefined;
    this.track.removeDownTrack(this);
  }

  /**
   * Serializes header and extensions straight into the datagram, protects it in place and hands it to the
   * ICE connection without waiting. With `originalSequenceNumber` >= 0 the payload is prefixed with it (RTX,
   * RFC 4588 §4). Returns the send time (Unix ms), 0 when the transport has no SRTP keys yet.
   */
  #send(
    dtls: RTCDtlsTransport,
    packet: RtpPacket,
    sequenceNumber: number,
    timestamp: number,
    payloadType: number,
    ssrc: number,
    originalSequenceNumber: number,
    vp8: Vp8Verdict,
  ): number {
    const srtp = this.#srtpFor(dtls);
    if (!srtp) return 0;
    const now = nowMs();
    const header = sharedHeaderWriter.reset(payloadType, sequenceNumber, timestamp, ssrc, packet.header.marker);
    const transportSequence = this.#addOwnExtensions(now);
    const table = this.#extensionTable;
    if (table) {
      const extensions = packet.header.extensions;
      for (let i = 0; i < extensions.length; i++) {
        const id = table[extensions[i].id];
        if (id !== 0) header.addBytes(id, extensions[i].payload);
      }
    }
    const payload = packet.payload;
    const headerLength = header.size;
    const prefix = originalSequenceNumber >= 0 ? 2 : 0;
    const payloadLength = prefix + payload.length;
    const datagram = Buffer.allocUnsafe(headerLength + payloadLength + srtp.tagLength);
    header.write(datagram, 0);
    if (prefix !== 0) {
      datagram[headerLength] = originalSequenceNumber >> 8;
      datagram[headerLength + 1] = originalSequenceNumber & 0xff;
    }
    payload.copy(datagram, headerLength + prefix);
    // The shared incoming payload is never written: only this datagram's copy gets the munged VP8 fields.
    if (vp8 === Vp8Verdict.Rewritten) this.#vp8!.write(datagram, headerLength + prefix);
    this.#protectAndSend(dtls, srtp, datagram, headerLength, payloadLength, transportSequence, this.#kind === 'audio');
    return now;
  }

  /**
   * Adds the extensions this down track writes itself to the shared header: its mid, and the connection's next
   * transport-wide sequence number when negotiated (returned; -1 without).
   */
  #addOwnExtensions(now: number): number {
    const ids = this.#ids;
    if (ids.mid !== 0 && this.#midBytes) sharedHeaderWriter.addBytes(ids.mid, this.#midBytes);
    if (ids.twcc === 0) return -1;
    const transportSequence = this.line.sent.record(now);
    sharedHeaderWriter.addUint(ids.twcc, transportSequence, 2);
    return transportSequence;
  }

  /** Protects the datagram in place, records its size on the wire for the estimate, and hands it to ICE; returns that size. */
  #protectAndSend(dtls: RTCDtlsTransport, srtp: SrtpSender, datagram: Buffer, headerLength: number, payloadLength: number, transportSequence: number, audio: boolean): number {
    const length = srtp.protect(datagram, headerLength, payloadLength);
    if (transportSequence >= 0) this.line.sent.setBytes(transportSequence, length, audio);
    sendProtected(dtls, length === datagram.length ? datagram : datagram.subarray(0, length));
    return length;
  }

  /**
   * One padding-only packet on the RTX stream (RFC 3550 §5.1: P bit, no payload, the last octet counts the
   * padding), for the prober; the subscriber counts it toward its feedback and drops it. Returns its size on the
   * wire, 0 when this down track cannot send one (no RTX, not connected, nothing forwarded yet). A paused down track
   * can: padding never reaches the decoder.
   */
  sendPadding(paddingBytes: number): number {
    const { dtlsTransport: dtls, rtxSsrc } = this.line;
    if (this.#closed || this.#rtxPayloadType < 0 || rtxSsrc === undefined || !this.#current || dtls.state !== 'connected') return 0;
    const srtp = this.#srtpFor(dtls);
    if (!srtp) return 0;
    const now = nowMs();
    const header = sharedHeaderWriter.reset(this.#rtxPayloadType, this.#rtxSequenceNumber, this.#stats.lastRtpTimestamp, rtxSsrc, false);
    this.#rtxSequenceNumber = (this.#rtxSequenceNumber + 1) & 0xffff;
    const transportSequence = this.#addOwnExtensions(now);
    const padding = Math.max(1, Math.min(255, paddingBytes));
    const headerLength = header.size;
    const datagram = Buffer.alloc(headerLength + padding + srtp.tagLength);
    header.write(datagram, 0);
    datagram[0] |= 0x20;
    datagram[headerLength + padding - 1] = padding;
    const length = this.#protectAndSend(dtls, srtp, datagram, headerLength, padding, transportSequence, false);
    this.#metrics.paddingBytes.inc(length);
    return length;
  }

  /** The SRTP sender of the transport's current session (re-made when werift re-keys after a DTLS restart). */
  #srtpFor(dtls: RTCDtlsTransport): SrtpSender | undefined {
    const session = srtpSessionOf(dtls);
    if (session !== this.#srtpSession || !this.#srtp) {
      this.#srtpSession = session;
      this.#srtp = srtpSenderFor(dtls);
    }
    return this.#srtp;
  }

  #retransmitGate(): RetransmitGate {
    if (!this.#gate) {
      this.#gate = new RetransmitGate();
      if (this.#roundTripMs !== undefined) this.#gate.roundTripMs = this.#roundTripMs;
    }
    return this.#gate;
  }

  #onNack(nack: GenericNack): void {
    this.#metrics.nacksReceived.inc();
    const cache = this.#current?.cache;
    if (!cache || this.#closed) return;
    const { dtlsTransport: dtls, ssrc, rtxSsrc } = this.line;
    if (dtls.state !== 'connected') return;
    const now = performance.now();
    const forwarder = this.#forwarder;
    for (const lost of nack.lost) {
      const incoming = forwarder.incomingSequenceNumber(lost);
      const original = incoming < 0 ? undefined : cache.get(incoming);
      if (!original || original.header.ssrc !== forwarder.sourceSsrc || !this.#retransmitGate().allow(lost, now)) continue;
      // Sent again with the VP8 fields it was first sent with.
      const vp8 = this.#vp8 ? this.#vp8.decideRetransmission(original.payload) : Vp8Verdict.Unchanged;
      if (vp8 === Vp8Verdict.Drop) continue;
      const timestamp = forwarder.outgoingTimestamp(original.header.timestamp);
      let sent: number;
      if (this.#rtxPayloadType >= 0 && rtxSsrc !== undefined) {
        // RFC 4588 §4: the RTX payload starts with the original sequence number, as the subscriber knows it.
        sent = this.#send(dtls, original, this.#rtxSequenceNumber, timestamp, this.#rtxPayloadType, rtxSsrc, lost, vp8);
        this.#rtxSequenceNumber = (this.#rtxSequenceNumber + 1) & 0xffff;
      } else {
        sent = this.#send(dtls, original, lost, timestamp, this.#payloadType, ssrc, NOT_RTX, vp8);
      }
      if (sent !== 0) this.#metrics.packetsRetransmitted.inc();
    }
  }

  /** A report block about our SSRC echoes our last SR: RTT paces the answers to NACKs. */
  #onReports(packet: RtcpPacket): void {
    const reports = (packet as { reports?: { ssrc: number; lsr: number; dlsr: number }[] }).reports ?? [];
    for (const report of reports) {
      if (report.ssrc !== this.#stats.ssrc) continue;
      const rtt = roundTripMs(nowMs(), report.lsr, report.dlsr);
      if (rtt === undefined) continue;
      this.#roundTripMs = rtt;
      if (this.#gate) this.#gate.roundTripMs = rtt;
    }
  }
}
