import type { Counter } from 'prom-client';
import type { MediaStreamTrack, RTCRtpCodecParameters, RTCRtpReceiver, RtcpPacket, RtcpSrPacket, RtpPacket } from 'werift';
import type { DownTrack } from './down-track.js';
import { InvalidStateError } from '../errors.js';
import { extensionIdOf, type ExtensionIdMap } from './header-extensions.js';
import { AUDIO_LEVEL_URI, audioLevelOf, AudioLevelMeter } from './audio-level.js';
import { keyframeDetectorFor, type KeyframeDetector } from './keyframe.js';
import { Arrival } from './rtp/rtp-unwrapper.js';
import { TrackLayer, type PublisherSenderReport } from './track-layer.js';
import { RTCP_SR, unixMsFromNtp } from './rtp/sender-report.js';
import { PublisherClock } from './rtp/publisher-clock.js';
import { Dynacast } from '../simulcast/dynacast.js';
import { vp8TemporalId } from '../simulcast/vp8-descriptor.js';
import type { SfuMetrics } from '../sfu-metrics.js';
import type { PublishedTrackInfo, SimulcastLayerDescription, TrackKind, TrackSource } from '../sfu-types.js';

export interface PublishedTrackInit {
  id: string;
  kind: TrackKind;
  source: TrackSource;
  name?: string;
  mid: string;
  publisherIdentity: string;
  /** 1 for the teacher's tracks, else 0 (default): with the source and activeSpeaker, its place in allocation (allocationPriority). */
  priority?: number;
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
  /** Simulcast: its layers, lowest quality first; absent or empty without simulcast. */
  layers?: readonly SimulcastLayerDescription[];
  /**
   * Dynacast (simulcast only): called when the highest layer any subscriber needs changes (at once when it
   * rises, after DYNACAST_DOWNGRADE_DELAY_MS when it falls); -1 when none needs any.
   */
  onLayersNeeded?: (highestLayer: number, previous: number) => void;
}

export type { PublisherSenderReport } from './track-layer.js';

/**
 * One track a participant publishes (mediasoup's Producer): receives its RTP once per layer (one layer
 * without simulcast, one per RTP stream id with it), unwraps each layer's numbers (dropping duplicates) and
 * fans the packets out to every subscriber's DownTrack, which forwards the layer it has chosen. Each layer
 * keeps the packet cache that answers NACKs and the publisher's latest Sender Report, and asks for key frames
 * at a bounded rate.
 */
export class PublishedTrack {
  readonly id: string;
  readonly kind: TrackKind;
  readonly source: TrackSource;
  readonly name?: string;
  readonly mid: string;
  readonly publisherIdentity: string;
  readonly priority: number;
  readonly extensions: ExtensionIdMap;
  /**
   * An audio track whose publisher sends the audio level (RFC 6464), microphone or unlabelled: what its packets said
   * since the room's active-speaker observer last read it. Undefined for video, screen-share audio, or without it.
   */
  readonly audioLevel: AudioLevelMeter | undefined;
  /** Set by the room while the publisher is the loudest active speaker: its camera goes first in allocation. */
  activeSpeaker = false;
  /** Muted on the server (moderation or the publisher's own mute): its packets go to no subscriber. */
  #muted = false;
  /** Lowest quality first. */
  readonly layers: readonly TrackLayer[];
  readonly #receiver: RTCRtpReceiver;
  readonly #downTracks = new Set<DownTrack>();
  readonly #pliMinIntervalMs: number;
  readonly #metrics: SfuMetrics;
  readonly #forwardErrors: Counter.Internal;
  readonly #duplicates: Counter.Internal;
  readonly #stale: Counter.Internal;
  readonly #clock: PublisherClock;
  readonly #unsubscribeRtcp: () => void;
  /** The werift track each layer is received on, and how to stop listening to it. */
  readonly #remotes = new Map<TrackLayer, { track: MediaStreamTrack; unsubscribe: () => void }>();
  readonly #dynacast?: Dynacast;
  #codec: RTCRtpCodecParameters | undefined;
  #isKeyframe: KeyframeDetector | undefined;
  /** VP8: each packet's temporal layer, so that each layer is priced per frame rate too. */
  #temporalIdOf: ((payload: Uint8Array) => number) | undefined;
  /** The negotiated id of the audio level extension (0: not read). */
  readonly #audioLevelId: number;
  #closed = false;

  constructor(init: PublishedTrackInit) {
    this.id = init.id;
    this.kind = init.kind;
    this.source = init.source;
    this.name = init.name;
    this.mid = init.mid;
    this.publisherIdentity = init.publisherIdentity;
    this.priority = init.priority ?? 0;
    this.extensions = init.extensions;
    const levelId = init.kind === 'audio' && init.source !== 'screen_audio' ? extensionIdOf(init.extensions, AUDIO_LEVEL_URI) : 0;
    this.#audioLevelId = levelId;
    this.audioLevel = levelId > 0 ? new AudioLevelMeter() : undefined;
    this.#receiver = init.receiver;
    this.#pliMinIntervalMs = init.pliMinIntervalMs;
    this.#metrics = init.metrics;
    this.#clock = init.clock ?? new PublisherClock();
    this.#forwardErrors = init.metrics.forwardErrors.labels(init.kind);
    this.#duplicates = init.metrics.packetsDiscarded.labels('duplicate');
    this.#stale = init.metrics.packetsDiscarded.labels('stale');
    this.#unsubscribeRtcp = init.receiver.onRtcp.subscribe((packet) => this.#onRtcp(packet)).unSubscribe;
    const cacheSize = init.kind === 'video' ? init.packetCacheSize : 0;
    const layers = init.layers && init.layers.length > 0 ? init.layers : [{}];
    this.layers = layers.map((description, index) => new TrackLayer(index, description, cacheSize));
    if (this.layers.length > 1 && init.onLayersNeeded) {
      this.#dynacast = new Dynacast(this.layers.length, init.onLayersNeeded);
      // Nobody receives it yet: unless someone subscribes within the delay, the publisher stops every layer.
      this.#dynacast.update(-1);
    }
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
      muted: this.#muted,
    };
  }

  get muted(): boolean {
    return this.#muted;
  }

  /**
   * Server-side mute: while muted no packet is fanned out (one boolean on the hot path). Unmuting restarts every down
   * track's numbering after the silence (no gap for subscribers to NACK) and, for video, asks for a key frame at once
   * so subscribers see the picture again without waiting for the encoder's next one. Returns whether it changed.
   */
  setMuted(muted: boolean): boolean {
    if (muted === this.#muted || this.#closed) return false;
    this.#muted = muted;
    if (!muted) {
      for (const downTrack of this.#downTracks) downTrack.sourceResumed();
      for (const layer of this.layers) this.requestKeyframe('unmute', layer);
    }
    return true;
  }

  /** Whether the publisher sends this track as several simulcast layers. */
  get simulcast(): boolean {
    return this.layers.length > 1;
  }

  /** The publisher's latest Sender Report for `layer`'s SSRC, or undefined before the first. */
  senderReport(layer: TrackLayer = this.layers[0]): Readonly<PublisherSenderReport> | undefined {
    const report = layer.senderReport;
    if (report.ssrc < 0 || report.ssrc !== layer.ssrc) return undefined;
    // Mapped now, with the clock as it is now: every track of the publisher uses the same offset.
    report.atMs = layer.reportNtpMs === undefined ? layer.reportArrivalMs : this.#clock.toLocalMs(layer.reportNtpMs);
    return report;
  }

  /** The layer whose packets come with `ssrc`, if any has seen it. */
  layerOf(ssrc: number): TrackLayer | undefined {
    return this.layers.find((layer) => layer.ssrc === ssrc);
  }

  /**
   * Called when werift reports a remote track: the track itself, or one simulcast layer's (by its rid; werift's
   * pc.onTrack reports only the first rid, the others are in receiver.tracks).
   */
  attachRemote(track: MediaStreamTrack): void {
    if (this.#closed) throw new InvalidStateError(`track ${this.id} is closed`);
    const layer = this.simulcast ? this.layers.find((l) => l.rid === track.rid) : this.layers[0];
    if (!layer || this.#remotes.get(layer)?.track === track) return;
    this.#remotes.get(layer)?.unsubscribe();
    // Signalled SSRCs (a=ssrc) are known now; a simulcast layer's is learned from its first packet.
    if (layer.ssrc < 0 && track.ssrc) layer.ssrc = track.ssrc;
    if (track.codec && !this.#codec) this.#setCodec(track.codec);
    const { unSubscribe } = track.onReceiveRtp.subscribe((packet) => this.#onRtp(layer, packet));
    this.#remotes.set(layer, { track, unsubscribe: unSubscribe });
  }

  addDownTrack(downTrack: DownTrack): void {
    if (this.#closed) throw new InvalidStateError(`track ${this.id} is closed`);
    this.#downTracks.add(downTrack);
    this.downTrackChanged();
  }

  removeDownTrack(downTrack: DownTrack): void {
    if (this.#downTracks.delete(downTrack)) this.downTrackChanged();
  }

  /** The highest layer any subscriber receives or waits for; -1 when none (no subscribers, or all paused). */
  neededLayer(): number {
    let needed = -1;
    for (const downTrack of this.#downTracks) if (!downTrack.paused && downTrack.maxLayer > needed) needed = downTrack.maxLayer;
    return needed;
  }

  /** A down track came, went, paused, resumed or changed its highest layer: dynacast may change the layers sent. */
  downTrackChanged(): void {
    this.#dynacast?.update(this.neededLayer());
  }

  /**
   * Sends a PLI for `layer` to the publisher unless one went out for it within `pliMinIntervalMs`. One
   * exception: `subscribe` (a new down track that can now send and waits for its first key frame) is not held
   * back by a request whose key frame has already been forwarded, before this down track could send; so at
   * most one such extra request per key frame received.
   */
  requestKeyframe(reason: 'subscribe' | 'subscriber-pli' | 'waiting' | 'loss' | 'layer-switch' | 'unmute', layer: TrackLayer = this.layers[0]): boolean {
    if (this.#closed || this.kind !== 'video' || layer.ssrc < 0) return false;
    const now = performance.now();
    if (now - layer.lastPliAt < this.#pliMinIntervalMs && (reason !== 'subscribe' || layer.lastKeyframeAt < layer.lastPliAt)) return false;
    layer.lastPliAt = now;
    this.#metrics.plisSent.inc({ reason });
    this.#receiver.sendRtcpPLI(layer.ssrc).catch(() => undefined);
    return true;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#dynacast?.close();
    for (const { unsubscribe } of this.#remotes.values()) unsubscribe();
    this.#remotes.clear();
    this.#unsubscribeRtcp();
    for (const downTrack of [...this.#downTracks]) downTrack.close();
    this.#downTracks.clear();
    for (const layer of this.layers) layer.cache?.clear();
  }

  #onRtp(layer: TrackLayer, packet: RtpPacket): void {
    const header = packet.header;
    const unwrapper = layer.unwrapper;
    const arrival = unwrapper.unwrap(header.ssrc, header.sequenceNumber, header.timestamp);
    if (arrival >= Arrival.Duplicate) {
      (arrival === Arrival.Duplicate ? this.#duplicates : this.#stale).inc();
      return;
    }
    const now = performance.now();
    layer.ssrc = header.ssrc;
    layer.received(packet.payload.length, now, this.#temporalIdOf ? this.#temporalIdOf(packet.payload) : -1);
    layer.cache?.store(packet);
    const keyframe = this.#isKeyframe !== undefined && this.#isKeyframe(packet.payload);
    if (keyframe) layer.lastKeyframeAt = now;
    // Muted: received and cached as usual (layer activity, NACKs of what was sent before), but sent to nobody.
    if (this.#muted) return;
    if (this.#audioLevelId > 0) {
      const level = audioLevelOf(header.extensions, this.#audioLevelId);
      if (level >= 0) this.audioLevel!.observe(level);
    }
    const sequenceNumber = unwrapper.sequenceNumber;
    const timestamp = unwrapper.timestamp;
    for (const downTrack of this.#downTracks) {
      // One failing subscriber must not cost the others this packet.
      try {
        downTrack.forward(packet, layer, sequenceNumber, timestamp, keyframe);
      } catch {
        this.#forwardErrors.inc();
      }
    }
  }

  #onRtcp(packet: RtcpPacket): void {
    if (packet.type !== RTCP_SR) return;
    const report = packet as RtcpSrPacket;
    const layer = this.layerOf(report.ssrc);
    if (!layer) return;
    const arrival = performance.timeOrigin + performance.now();
    const ntpMs = unixMsFromNtp(report.senderInfo.ntpTimestamp);
    if (ntpMs !== undefined) this.#clock.observe(ntpMs, arrival);
    layer.senderReport.ssrc = report.ssrc;
    layer.senderReport.rtpTimestamp = report.senderInfo.rtpTimestamp;
    layer.reportNtpMs = ntpMs;
    layer.reportArrivalMs = arrival;
  }

  #setCodec(codec: RTCRtpCodecParameters): void {
    this.#codec = codec;
    this.#isKeyframe = keyframeDetectorFor(codec.mimeType);
    this.#temporalIdOf = this.kind === 'video' && codec.mimeType.toLowerCase() === 'video/vp8' ? vp8TemporalId : undefined;
  }
}
