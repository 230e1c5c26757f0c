/**
 * The per-subscriber forwarding decision for one track, without I/O (LiveKit's Forwarder idea): given an
 * incoming packet's extended sequence number and timestamp (unwrapped once at the edge by the published
 * track's RtpUnwrapper), drop it or give the outgoing 16-bit sequence number and 32-bit timestamp.
 *
 * Everything is compared in extended numbers, so it stays right after any number of wraps: the outgoing
 * extended number is the incoming one plus an offset, which keeps losses as gaps (the subscriber NACKs them)
 * and puts late packets in their place. Output numbering stays continuous across a source change
 * (publisher restart, new SSRC) and a resume, and starts at a key frame for video.
 *
 * A packet the down track decides not to send after all (a VP8 frame of a temporal layer above the one allowed)
 * is handed back with `drop`: the packets after it get the number it would have had, so the subscriber sees no gap
 * (LiveKit's RTPMunger.PacketDropped). Each drop starts a new offset; the last OFFSET_HISTORY ranges are kept, so a
 * late or publisher-retransmitted packet of an earlier range still gets the number its place was given, a NACK
 * still finds the packet it names, and a late packet of a dropped range is dropped too.
 */
export interface ForwardResult {
  sequenceNumber: number;
  timestamp: number;
  /** True when the packet is the newest forwarded so far (in extended order); false for a late one. */
  newest: boolean;
}

export const enum DropReason {
  None = 0,
  WaitingForKeyframe = 1,
  /** Older than the first packet forwarded from this source: the subscriber never had what came before. */
  BeforeStart = 2,
  Paused = 3,
  /** Its number was handed back with `drop` (a packet of a frame the down track does not send). */
  Dropped = 4,
}

const SEQ_MOD = 0x1_0000;
/** An aligned timestamp further than this after the last one sent (5 s at 90 kHz) is not trusted (stale reports). */
const MAX_ALIGN_TICKS = 450_000;
/**
 * Offset ranges remembered (each drop adds at most two): with one subscriber held to TL0 of an L1T3 stream, about
 * 15 a second, so ~8 s of history, well beyond a NACK's round trip and any reordering.
 */
const OFFSET_HISTORY = 128;
/** The offset of a range whose packets were dropped: they have no outgoing number. */
const DROPPED_RANGE = Number.NaN;

export class Forwarder {
  #started = false;
  #paused = false;
  #sourceSsrc = -1;
  /**
   * Outgoing extended = incoming extended + the offset of the range it falls in: ranges of incoming extended numbers
   * (each from its start to the next one's), a ring oldest to newest; the newest range's offset is the current one.
   */
  readonly #rangeStart = new Float64Array(OFFSET_HISTORY);
  readonly #rangeOffset = new Float64Array(OFFSET_HISTORY);
  #rangeNewest = 0;
  #ranges = 0;
  /** Outgoing extended = incoming extended + offset, for packets newer than any seen. */
  #seqOffset = 0;
  /** Extended incoming sequence number of the newest packet decided on (forwarded or dropped). */
  #highestIn = 0;
  /** Before the newest packet was forwarded: what `drop` restores when it hands that packet back. */
  #previousHighestIn = 0;
  #previousHighestSeq = 0;
  #previousHighestTs = 0;
  #tsOffset = 0;
  /** Extended outgoing sequence number and timestamp of the newest packet forwarded. */
  #highestSeq = 0;
  #highestTs = 0;
  #hasOutput = false;
  /** The outgoing extended timestamp the next source's first packet is to get (Sender Report alignment), once. */
  #alignedTs: number | undefined;

  /**
   * @param waitForKeyframe video: begin (and resume after a source change) only on a key frame.
   * @param timestampStep RTP clock ticks inserted between the last packet of an old source and the first of a new one.
   */
  constructor(
    private readonly waitForKeyframe: boolean,
    private readonly timestampStep: number,
    initialSeq = Math.floor(Math.random() * SEQ_MOD),
    initialTs = Math.floor(Math.random() * 0x1_0000_0000),
  ) {
    this.#highestSeq = initialSeq - 1;
    this.#highestTs = initialTs;
  }

  get started(): boolean {
    return this.#started;
  }

  /** The SSRC of the source being forwarded (-1 before the first packet). */
  get sourceSsrc(): number {
    return this.#sourceSsrc;
  }

  /** Stop forwarding (e.g. the subscriber muted the track); `resume` waits for a key frame again. */
  pause(): void {
    this.#paused = true;
  }

  resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    this.#started = false;
  }

  /**
   * The source stopped being forwarded for a while (a server-side mute) and comes back: its next packet starts a new
   * offset, as a source change does, so the outgoing numbers stay continuous (video waits for a key frame).
   */
  restart(): void {
    this.#started = false;
  }

  /** Fills `out` and returns DropReason.None when the packet is to be sent. Allocates nothing. */
  decide(ssrc: number, extendedSeq: number, extendedTs: number, isKeyframe: boolean, out: ForwardResult): DropReason {
    if (this.#paused) return DropReason.Paused;
    if (ssrc !== this.#sourceSsrc) {
      this.#sourceSsrc = ssrc;
      this.#started = false;
    }
    if (!this.#started) {
      if (this.waitForKeyframe && !isKeyframe) return DropReason.WaitingForKeyframe;
      this.#start(extendedSeq, extendedTs);
    }
    let offset = this.#seqOffset;
    if (extendedSeq > this.#highestIn) {
      this.#previousHighestIn = this.#highestIn;
      this.#previousHighestSeq = this.#highestSeq;
      this.#previousHighestTs = this.#highestTs;
      this.#highestIn = extendedSeq;
    } else {
      const kept = this.#offsetOf(extendedSeq);
      if (kept === undefined) return DropReason.BeforeStart;
      if (Number.isNaN(kept)) return DropReason.Dropped;
      offset = kept;
    }
    const outSeq = extendedSeq + offset;
    const outTs = extendedTs + this.#tsOffset;
    // A late packet can be the newest sent: its place was kept when the packet after it was handed back.
    const newest = outSeq > this.#highestSeq;
    if (newest) {
      this.#highestSeq = outSeq;
      this.#highestTs = outTs;
    }
    this.#hasOutput = true;
    out.sequenceNumber = outSeq & 0xffff;
    out.timestamp = outTs >>> 0;
    out.newest = newest;
    return DropReason.None;
  }

  /**
   * Hands back the packet `decide` has just accepted (same `extendedSeq`): it is not sent. When it is the newest
   * packet, later packets take its number. `withGapBefore`: the packets missing just before it (from the newest
   * decided before it) belong to the same dropped frame, so they give up their numbers too and are dropped if they
   * come. A late packet's number was already given its place: it stays a gap, which the subscriber may NACK.
   * Returns whether the number was handed back (no gap).
   */
  drop(extendedSeq: number, withGapBefore = false): boolean {
    if (!this.#started || extendedSeq !== this.#highestIn) return false;
    this.#highestSeq = this.#previousHighestSeq;
    this.#highestTs = this.#previousHighestTs;
    const first = withGapBefore ? this.#previousHighestIn + 1 : extendedSeq;
    const offset = this.#seqOffset - (extendedSeq - first + 1);
    const newest = this.#rangeNewest;
    const previous = (newest + OFFSET_HISTORY - 1) % OFFSET_HISTORY;
    // Right after another drop (nothing forwarded since): one dropped range grows instead of two more entries.
    if (this.#ranges > 1 && this.#rangeStart[newest] === first && Number.isNaN(this.#rangeOffset[previous])) {
      this.#rangeStart[newest] = extendedSeq + 1;
      this.#rangeOffset[newest] = offset;
    } else {
      if (this.#rangeStart[newest] === first) this.#rangeOffset[newest] = DROPPED_RANGE;
      else this.#pushRange(first, DROPPED_RANGE);
      this.#pushRange(extendedSeq + 1, offset);
    }
    this.#seqOffset = offset;
    return true;
  }

  /**
   * The incoming 16-bit sequence number an outgoing one was mapped from (to answer a NACK from the cache),
   * or -1 when it was not forwarded from the current source under a mapping still remembered.
   */
  incomingSequenceNumber(outgoing: number): number {
    if (!this.#started) return -1;
    const extended = this.#highestSeq + (((outgoing - this.#highestSeq) << 16) >> 16);
    if (extended > this.#highestSeq) return -1;
    // Newest range first: a NACK names a recent packet.
    let end = this.#highestIn;
    for (let n = 0, i = this.#rangeNewest; n < this.#ranges; n++, i = (i + OFFSET_HISTORY - 1) % OFFSET_HISTORY) {
      const start = this.#rangeStart[i];
      const offset = this.#rangeOffset[i];
      if (!Number.isNaN(offset)) {
        const incoming = extended - offset;
        if (incoming >= start && incoming <= end) return incoming & 0xffff;
        // Ranges map to ascending outgoing numbers: below this one's first, look further back.
        if (incoming > end) return -1;
      }
      end = start - 1;
    }
    return -1;
  }

  /**
   * The outgoing timestamp (32 bits) the next source's first packet should carry: the moment it was captured, on
   * the outgoing timeline, as both sources' Sender Reports tell it (a simulcast switch). Used once, and only if it
   * comes after the last timestamp sent and within MAX_ALIGN_TICKS of it; otherwise one timestamp step is used.
   */
  alignNextSource(outgoingTimestamp: number): void {
    this.#alignedTs = this.#highestTs + ((outgoingTimestamp - this.#highestTs) | 0);
  }

  /** The outgoing timestamp for an incoming one under the current mapping (retransmissions, Sender Reports). */
  outgoingTimestamp(incoming: number): number {
    return (incoming + this.#tsOffset) >>> 0;
  }

  #start(extendedSeq: number, extendedTs: number): void {
    const aligned = this.#alignedTs;
    this.#alignedTs = undefined;
    const alignable = this.#hasOutput && aligned !== undefined && aligned > this.#highestTs && aligned - this.#highestTs <= MAX_ALIGN_TICKS;
    const nextTs = alignable ? aligned : this.#hasOutput ? this.#highestTs + this.timestampStep : this.#highestTs;
    this.#seqOffset = this.#highestSeq + 1 - extendedSeq;
    this.#tsOffset = nextTs - extendedTs;
    this.#highestIn = extendedSeq - 1;
    this.#ranges = 0;
    this.#pushRange(extendedSeq, this.#seqOffset);
    this.#started = true;
  }

  /** The offset for a packet no newer than the newest: NaN when its range was dropped, undefined when before every range remembered. */
  #offsetOf(extendedSeq: number): number | undefined {
    for (let n = 0, i = this.#rangeNewest; n < this.#ranges; n++, i = (i + OFFSET_HISTORY - 1) % OFFSET_HISTORY) {
      if (extendedSeq >= this.#rangeStart[i]) return this.#rangeOffset[i];
    }
    return undefined;
  }

  /** Adds the newest range; past OFFSET_HISTORY the oldest is forgotten (its packets count as before the start). */
  #pushRange(start: number, offset: number): void {
    if (this.#ranges > 0) this.#rangeNewest = (this.#rangeNewest + 1) % OFFSET_HISTORY;
    this.#rangeStart[this.#rangeNewest] = start;
    this.#rangeOffset[this.#rangeNewest] = offset;
    if (this.#ranges < OFFSET_HISTORY) this.#ranges++;
  }
}
