/**
 * The per-subscriber forwarding decision for one track, without I/O (LiveKit's Forwarder idea): given an
 * incoming packet's extended sequence number and timestamp (unwrapped once at the edge by the published
 * track's RtpUnwrapper), drop it or give the outgoing 16-bit sequence number and 32-bit timestamp.
 *
 * Everything is compared in extended numbers, so it stays right after any number of wraps: the outgoing
 * extended number is the incoming one plus an offset, which keeps losses as gaps (the subscriber NACKs them)
 * and puts late packets in their place. Output numbering stays continuous across a source change
 * (publisher restart, new SSRC) and a resume, and starts at a key frame for video.
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
}

const SEQ_MOD = 0x1_0000;
/** An aligned timestamp further than this after the last one sent (5 s at 90 kHz) is not trusted (stale reports). */
const MAX_ALIGN_TICKS = 450_000;

export class Forwarder {
  #started = false;
  #paused = false;
  #sourceSsrc = -1;
  /** Extended incoming sequence number of the first packet forwarded from the current source. */
  #startSeq = 0;
  /** Outgoing extended = incoming extended + offset. */
  #seqOffset = 0;
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
    } else if (extendedSeq < this.#startSeq) {
      return DropReason.BeforeStart;
    }
    const outSeq = extendedSeq + this.#seqOffset;
    const outTs = extendedTs + this.#tsOffset;
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
   * The incoming 16-bit sequence number an outgoing one was mapped from (to answer a NACK from the cache),
   * or -1 when it was not forwarded from the current source under the current mapping.
   */
  incomingSequenceNumber(outgoing: number): number {
    if (!this.#started) return -1;
    const extended = this.#highestSeq + (((outgoing - this.#highestSeq) << 16) >> 16);
    if (extended > this.#highestSeq || extended < this.#startSeq + this.#seqOffset) return -1;
    return (extended - this.#seqOffset) & 0xffff;
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
    this.#startSeq = extendedSeq;
    this.#started = true;
  }
}
