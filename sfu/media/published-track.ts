import type { Counter } from 'prom-client';
import type { MediaStreamTrack, RTCRtpCodecParameters, RTCRtpReceiver, RtcpPacket, RtcpSrPacket, RtpPacket } from 'werift';
import type { DownTrack } from './down-track.js';
import { InvalidStateError } from '../errors.js';
import type { ExtensionIdMap } from './header-extensions.js';
import { keyframeDetectorFor, type KeyframeDetector } from './keyframe.js';
import { PacketCache } from './packet-cache.js';
import { Arrival, RtpUnwrapper } from './rtp/rtp-unwrapper.js';
import { RTCP_SR, unixMsFromNtp } from './rtp/sender-report.js';
import { PublisherClock } from './rtp/publisher-clock.js';
import type { SfuMetrics } from '../sfu-metrics.js';
import type { PublishedTrackInfo, TrackKind, TrackSource } from '../sfu-types.js';

export interface PublishedTrackInit {
  id: string;
  kind: TrackKind;
  source: TrackSource;
  name?: string;
  mid: string;
  publisherIdentity: string;
  receiver: RTCRtpReceiver;
  /** The publisher's negotiated codec, if known; the remote track's codec otherwise. */
  codec?: RTCRtpCodecParameters;
  /** The publisher connection's negotiated header extension ids. */
  extensions: ExtensionIdMap;
  packetCacheSize: number;
  pliMinIntervalMs: number;
  metrics: SfuMetrics;
  /** The publisher's wallclock, shared by all its tracks (lip sync); one of the track's own when absent. */
  clock?: PublisherClock;
}

/** The publisher's latest Sender Report on this track: its RTP timestamp and the SFU-clock time it stands for. */
export interface PublisherSenderReport {
  ssrc: number;
  rtpTimestamp: number;
  /** Unix ms on the SFU's clock: the report's NTP time through the publisher's clock, or its arrival when it has none. */
  atMs: number;
}

/**
 * One track a participant publishes (mediasoup's Producer): receives its RTP once, unwraps its numbers
 * (dropping duplicates) and fans it out to every subscriber's DownTrack, keeps the packet cache that
 * answers their NACKs and the publisher's latest Sender Report, and asks the publisher for key frames at a
 * bounded rate.
 */
export class PublishedTrack {
  readonly id: string;
  readonly kind: TrackKind;
  readonly source: TrackSource;
  readonly name?: string;
  readonly mid: string;
  readonly publisherIdentity: string;
  readonly extensions: ExtensionIdMap;
  readonly cache: PacketCache | undefined;
  readonly #receiver: RTCRtpReceiver;
  readonly #downTracks = new Set<DownTrack>();
  readonly #pliMinIntervalMs: number;
  readonly #metrics: SfuMetrics;
  readonly #forwardErrors: Counter.Internal;
  readonly #duplicates: Counter.Internal;
  readonly #stale: Counter.Internal;
  readonly #unwrapper = new RtpUnwrapper();
  readonly #senderReport: PublisherSenderReport = { ssrc: -1, rtpTimestamp: 0, atMs: 0 };
  /** The latest report's NTP time (Unix ms, publisher clock; undefined when it had none usable), and its arrival. */
  #reportNtpMs: number | undefined;
  #reportArrivalMs = 0;
  readonly #clock: PublisherClock;
  readonly #unsubscribeRtcp: () => void;
  #remote?: MediaStreamTrack;
  #codec: RTCRtpCodecParameters | undefined;
  #unsubscribe?: () => void;
  #isKeyframe: KeyframeDetector | undefined;
  #lastPliAt = -Infinity;
  #lastKeyframeAt = -Infinity;
  #closed = false;

  constructor(init: PublishedTrackInit) {
    this.id = init.id;
    this.kind = init.kind;
    this.source = init.source;
    this.name = init.name;
    this.mid = init.mid;
    this.publisherIdentity = init.publisherIdentity;
    this.extensions = init.extensions;
    this.#receiver = init.receiver;
    this.#pliMinIntervalMs = init.pliMinIntervalMs;
    this.#metrics = init.metrics;
    this.#clock = init.clock ?? new PublisherClock();
    this.#forwardErrors = init.metrics.forwardErrors.labels(init.kind);
    this.#duplicates = init.metrics.packetsDiscarded.labels('duplicate');
    this.#stale = init.metrics.packetsDiscarded.labels('stale');
    this.#unsubscribeRtcp = init.receiver.onRtcp.subscribe((packet) => this.#onRtcp(packet)).unSubscribe;
    this.cache = init.kind === 'video' ? new PacketCache(init.packetCacheSize) : undefined;
    if (init.codec) this.#setCodec(init.codec);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** The publisher's codec, e.g. `video/VP8`: subscribers receive it as it is. */
  get mimeType(): string | undefined {
    return this.#codec?.mimeType;
  }

  get info(): PublishedTrackInfo {
    return {
      trackId: this.id,
      participantIdentity: this.publisherIdentity,
      kind: this.kind,
      source: this.source,
      ...(this.name ? { name: this.name } : {}),
      ...(this.#codec ? { mimeType: this.#codec.mimeType } : {}),
    };
  }

  /** The publisher's latest Sender Report for the SSRC being received, or undefined before the first. */
  get senderReport(): Readonly<PublisherSenderReport> | undefined {
    const report = this.#senderReport;
    if (report.ssrc < 0 || report.ssrc !== this.#remote?.ssrc) return undefined;
    // Mapped now, with the clock as it is now: every track of the publisher uses the same offset.
    report.atMs = this.#reportNtpMs === undefined ? this.#reportArrivalMs : this.#clock.toLocalMs(this.#reportNtpMs);
    return report;
  }

  /** Called when werift reports the remote track; with simulcast, the first rid's track (pc.onTrack reports only it). */
  attachRemote(track: MediaStreamTrack): void {
    if (this.#closed) throw new InvalidStateError(`track ${this.id} is closed`);
    if (this.#remote === track) return;
    this.#unsubscribe?.();
    this.#remote = track;
    if (track.codec && !this.#codec) this.#setCodec(track.codec);
    const subscription = track.onReceiveRtp.subscribe(this.#onRtp);
    this.#unsubscribe = subscription.unSubscribe;
  }

  addDownTrack(downTrack: DownTrack): void {
    if (this.#closed) throw new InvalidStateError(`track ${this.id} is closed`);
    this.#downTracks.add(downTrack);
  }

  removeDownTrack(downTrack: DownTrack): void {
    this.#downTracks.delete(downTrack);
  }

  /**
   * Sends a PLI to the publisher unless one went out within `pliMinIntervalMs`. One exception: `subscribe`
   * (a new down track that can now send and waits for its first key frame) is not held back by a request
   * whose key frame has already been forwarded, before this down track could send; so at most one such
   * extra request per key frame received.
   */
  requestKeyframe(reason: 'subscribe' | 'subscriber-pli' | 'waiting' | 'loss'): boolean {
    if (this.#closed || this.kind !== 'video') return false;
    const ssrc = this.#remote?.ssrc;
    if (ssrc === undefined) return false;
    const now = performance.now();
    if (now - this.#lastPliAt < this.#pliMinIntervalMs && (reason !== 'subscribe' || this.#lastKeyframeAt < this.#lastPliAt)) return false;
    this.#lastPliAt = now;
    this.#metrics.plisSent.inc({ reason });
    this.#receiver.sendRtcpPLI(ssrc).catch(() => undefined);
    return true;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    this.#unsubscribeRtcp();
    for (const downTrack of [...this.#downTracks]) downTrack.close();
    this.#downTracks.clear();
    this.cache?.clear();
  }

  readonly #onRtp = (packet: RtpPacket): void => {
    const header = packet.header;
    const unwrapper = this.#unwrapper;
    const arrival = unwrapper.unwrap(header.ssrc, header.sequenceNumber, header.timestamp);
    if (arrival >= Arrival.Duplicate) {
      (arrival === Arrival.Duplicate ? this.#duplicates : this.#stale).inc();
      return;
    }
    this.cache?.store(packet);
    const keyframe = this.#isKeyframe !== undefined && this.#isKeyframe(packet.payload);
    if (keyframe) this.#lastKeyframeAt = performance.now();
    const sequenceNumber = unwrapper.sequenceNumber;
    const timestamp = unwrapper.timestamp;
    for (const downTrack of this.#downTracks) {
      // One failing subscriber must not cost the others this packet.
      try {
        downTrack.forward(packet, sequenceNumber, timestamp, keyframe);
      } catch {
        this.#forwardErrors.inc();
      }
    }
  };

  #onRtcp(packet: RtcpPacket): void {
    if (packet.type !== RTCP_SR) return;
    const report = packet as RtcpSrPacket;
    if (report.ssrc !== this.#remote?.ssrc) return;
    const arrival = performance.timeOrigin + performance.now();
    const ntpMs = unixMsFromNtp(report.senderInfo.ntpTimestamp);
    if (ntpMs !== undefined) this.#clock.observe(ntpMs, arrival);
    this.#senderReport.ssrc = report.ssrc;
    this.#senderReport.rtpTimestamp = report.senderInfo.rtpTimestamp;
    this.#reportNtpMs = ntpMs;
    this.#reportArrivalMs = arrival;
  }

  #setCodec(codec: RTCRtpCodecParameters): void {
    this.#codec = codec;
    this.#isKeyframe = keyframeDetectorFor(codec.mimeType);
  }
}
