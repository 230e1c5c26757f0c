import { PacketCache } from './packet-cache.js';
import { RtpUnwrapper } from './rtp/rtp-unwrapper.js';

/** How long a layer may be silent before it counts as stopped (the publisher turned it off or is congested). */
export const LAYER_SILENT_MS = 1000;
/** Bitrate is measured over windows of this length... */
const BITRATE_WINDOW_MS = 1000;
/**
 * ...and averaged over this many of the latest: a key frame, or a second the publisher's encoder spent CPU-limited,
 * moves the average little, so an allocation made on it does not upgrade into a dip or downgrade for a spike.
 */
const BITRATE_WINDOWS = 5;
/** Switching up to a layer is priced at up to this multiple of its average (see `switchBitrateBps`). */
const SWITCH_HEADROOM = 1.5;
/** A layer that has just started is costed from its first window once this much of it has passed. */
const PARTIAL_WINDOW_MS = 250;
/**
 * What a down track adds to each payload: RTP header (12), its extensions (mid, transport-wide sequence number,
 * audio level: up to 16) and the SRTP tag (10 or 16). Counted in the layer's bitrate, so that it compares with the
 * downlink estimate, which counts whole SRTP packets: at 320x180 a packet's payload is often under 1,000 bytes.
 */
export const SENT_OVERHEAD_BYTES = 40;
/** Temporal layers (VP8 TID, 2 bits): bytes are counted per TID. */
const TEMPORAL_IDS = 4;

/** The publisher's latest Sender Report on one RTP stream: its RTP timestamp and the SFU-clock time it stands for. */
export interface PublisherSenderReport {
  ssrc: number;
  rtpTimestamp: number;
  /** Unix ms on the SFU's clock: the report's NTP time through the publisher's clock, or its arrival when it has none. */
  atMs: number;
}

/**
 * One RTP stream of a published track: the whole track without simulcast, one simulcast layer (an RTP stream
 * id, RFC 8852) with it. Each has its own SSRC, sequence and timestamp spaces, so each unwraps its own numbers,
 * caches its own packets for NACKs, keeps its own Sender Report and asks for its own key frames.
 */
export class TrackLayer {
  /** 0 is the lowest quality. */
  readonly index: number;
  readonly rid: string | undefined;
  /** Its resolution, when the publisher described it. */
  readonly width: number | undefined;
  readonly height: number | undefined;
  /** The stream's SSRC, learned from its first packet; -1 before. */
  ssrc = -1;
  readonly unwrapper = new RtpUnwrapper();
  readonly cache: PacketCache | undefined;
  readonly senderReport: PublisherSenderReport = { ssrc: -1, rtpTimestamp: 0, atMs: 0 };
  /** The latest report's NTP time (Unix ms, publisher clock; undefined when it had none usable), and its arrival. */
  reportNtpMs: number | undefined;
  reportArrivalMs = 0;
  lastKeyframeAt = -Infinity;
  lastPliAt = -Infinity;
  lastPacketAt = -Infinity;
  /** Bits per second over the last complete windows, as a down track sends them (payload and SENT_OVERHEAD_BYTES). */
  bitrateBps = 0;
  #windowStart = -Infinity;
  #windowBytes = 0;
  /** The window's bytes per temporal layer (TID; packets without one count as TID 0: they are never dropped). */
  #windowTemporalBytes = new Float64Array(TEMPORAL_IDS);
  /** The latest complete windows' bytes, bytes per TID and lengths (ms), oldest first. */
  readonly #windows: { bytes: number; temporal: Float64Array; ms: number }[] = [];
  /**
   * Over the latest complete windows: the share of the bytes in TIDs 0..t, for each t, kept when the layer stops (as
   * its price is). All 1 while the layer shows no temporal layers.
   */
  readonly #temporalShares = new Float64Array(TEMPORAL_IDS).fill(1);
  #temporalLayers = 0;
  /** The last average measured, kept when the layer stops: what it would cost when it starts again. */
  #lastMeasuredBps = 0;
  /** What it cost before its last stop: a restarting layer is priced no lower until its average is whole again. */
  #priceBeforeStop = 0;
  /** The busiest of the latest complete windows (bps), kept when the layer stops. */
  #peakBps = 0;

  constructor(index: number, description: { rid?: string; width?: number; height?: number }, cacheSize: number) {
    this.index = index;
    this.rid = description.rid;
    this.width = description.width;
    this.height = description.height;
    this.cache = cacheSize > 0 ? new PacketCache(cacheSize) : undefined;
  }

  /**
   * What forwarding this layer costs (bps): its average; before the first window ends, the window so far; while it
   * is stopped (dynacast, or the publisher's encoder), what it cost when it last ran; 0 when it never ran. Restarted,
   * no less than before it stopped until its average is whole again: an encoder ramps a restarted layer up, and an
   * allocation on its first seconds would upgrade a congested subscriber into it.
   */
  expectedBitrateBps(now: number): number {
    if (!this.active(now)) return this.#lastMeasuredBps;
    let measured = this.bitrateBps;
    if (measured === 0 && now - this.#windowStart >= PARTIAL_WINDOW_MS) measured = (this.#windowBytes * 8000) / (now - this.#windowStart);
    return this.#windows.length < BITRATE_WINDOWS ? Math.max(measured, this.#priceBeforeStop) : measured;
  }

  /**
   * What switching up to it costs (bps), since a switch starts with a key frame (a resume too): its busiest second
   * among the latest five, at most SWITCH_HEADROOM x its price (a second of a key frame and a few deltas; the whole
   * busiest second would ask a probe to show room for a key frame every second), and never less than the price.
   */
  switchBitrateBps(now: number): number {
    const price = this.expectedBitrateBps(now);
    return Math.max(price, Math.min(this.#peakBps, SWITCH_HEADROOM * price));
  }

  /** The highest TID in the latest windows: 0 when the layer has no temporal layers (or is not VP8). */
  get temporalLayers(): number {
    return this.#temporalLayers;
  }

  /**
   * The share of the layer's bitrate that its temporal layers 0..`maxTemporalLayer` carry (cumulative; key frames are
   * TID 0), over the same windows as its price, so that `expectedBitrateBps(now) * temporalShare(t)` is what
   * forwarding only TIDs up to t costs. 1 from the top temporal layer up.
   */
  temporalShare(maxTemporalLayer: number): number {
    return maxTemporalLayer >= this.#temporalLayers ? 1 : this.#temporalShares[Math.max(0, maxTemporalLayer)];
  }

  /** Whether packets arrived lately. */
  active(now: number): boolean {
    return now - this.lastPacketAt < LAYER_SILENT_MS;
  }

  /** Counts one received packet of `payloadBytes`, of temporal layer `temporalId` (-1: none). */
  received(payloadBytes: number, now: number, temporalId = -1): void {
    this.lastPacketAt = now;
    if (now - this.#windowStart >= BITRATE_WINDOW_MS) {
      this.#endWindow(now - this.#windowStart);
      this.#windowStart = now;
      this.#windowBytes = 0;
      this.#windowTemporalBytes = new Float64Array(TEMPORAL_IDS);
    }
    this.#windowBytes += payloadBytes + SENT_OVERHEAD_BYTES;
    this.#windowTemporalBytes[temporalId > 0 ? temporalId : 0] += payloadBytes + SENT_OVERHEAD_BYTES;
  }

  #endWindow(elapsed: number): void {
    const windows = this.#windows;
    // A window with a long silence in it says the layer stopped: its rate starts again from this packet.
    if (elapsed >= 2 * BITRATE_WINDOW_MS) {
      windows.length = 0;
      this.bitrateBps = 0;
      this.#priceBeforeStop = this.#lastMeasuredBps;
      return;
    }
    if (windows.length === BITRATE_WINDOWS) windows.shift();
    windows.push({ bytes: this.#windowBytes, temporal: this.#windowTemporalBytes, ms: elapsed });
    let bytes = 0;
    let ms = 0;
    let peak = 0;
    const temporal = new Float64Array(TEMPORAL_IDS);
    for (const window of windows) {
      bytes += window.bytes;
      ms += window.ms;
      peak = Math.max(peak, (window.bytes * 8000) / window.ms);
      for (let t = 0; t < TEMPORAL_IDS; t++) temporal[t] += window.temporal[t];
    }
    this.#peakBps = peak;
    this.bitrateBps = this.#lastMeasuredBps = (bytes * 8000) / ms;
    this.#temporalLayers = 0;
    let cumulative = 0;
    for (let t = 0; t < TEMPORAL_IDS; t++) {
      cumulative += temporal[t];
      this.#temporalShares[t] = bytes > 0 ? cumulative / bytes : 1;
      if (temporal[t] > 0) this.#temporalLayers = t;
    }
  }
}
