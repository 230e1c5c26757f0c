import type { MediaStreamTrack, RTCRtpCodecParameters, RTCRtpReceiver, RtpPacket } from 'werift';
import type { DownTrack } from './down-track.js';
import { InvalidStateError } from './errors.js';
import type { ExtensionIdMap } from './header-extensions.js';
import { keyframeDetectorFor, type KeyframeDetector } from './keyframe.js';
import { PacketCache } from './packet-cache.js';
import type { SfuMetrics } from './sfu-metrics.js';
import type { PublishedTrackInfo, TrackKind, TrackSource } from './sfu-types.js';

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
}

/**
 * One track a participant publishes (mediasoup's Producer): receives its RTP once and fans it out to every
 * subscriber's DownTrack, keeps the packet cache that answers their NACKs, and asks the publisher for
 * key frames at a bounded rate.
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
  #remote?: MediaStreamTrack;
  #codec: RTCRtpCodecParameters | undefined;
  #unsubscribe?: () => void;
  #isKeyframe: KeyframeDetector | undefined;
  #lastPliAt = -Infinity;
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

  /** Sends a PLI to the publisher unless one went out within `pliMinIntervalMs`. */
  requestKeyframe(reason: 'subscribe' | 'subscriber-pli' | 'waiting'): boolean {
    if (this.#closed || this.kind !== 'video') return false;
    const ssrc = this.#remote?.ssrc;
    if (ssrc === undefined) return false;
    const now = performance.now();
    if (now - this.#lastPliAt < this.#pliMinIntervalMs) return false;
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
    for (const downTrack of [...this.#downTracks]) downTrack.close();
    this.#downTracks.clear();
    this.cache?.clear();
  }

  readonly #onRtp = (packet: RtpPacket): void => {
    this.cache?.store(packet);
    const keyframe = this.#isKeyframe !== undefined && this.#isKeyframe(packet.payload);
    for (const downTrack of this.#downTracks) downTrack.forward(packet, keyframe);
  };

  #setCodec(codec: RTCRtpCodecParameters): void {
    this.#codec = codec;
    this.#isKeyframe = keyframeDetectorFor(codec.mimeType);
  }
}
