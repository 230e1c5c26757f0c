/**
 * The per-subscriber forwarding decision for one track, without I/O (LiveKit's Forwarder idea): given an
 * incoming packet, drop it or give the outgoing sequence number and timestamp. Output numbering stays
 * continuous across a source change (publisher restart, new SSRC) and starts at a key frame for video.
 */
export interface ForwardResult {
  sequenceNumber: number;
  timestamp: number;
}

export const enum DropReason {
  None = 0,
  WaitingForKeyframe = 1,
  BeforeStart = 2,
  Paused = 3,
}

const SEQ_MOD = 0x10000;
const HALF_SEQ = 0x8000;

export class Forwarder {
  #started = false;
  #paused = false;
  #sourceSsrc = -1;
  #startSeq = 0;
  #seqOffset = 0;
  #tsOffset = 0;
  #lastOutSeq = 0;
  #lastOutTs = 0;
  #hasOutput = false;

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
    this.#lastOutSeq = (initialSeq - 1 + SEQ_MOD) % SEQ_MOD;
    this.#lastOutTs = initialTs >>> 0;
  }

  get started(): boolean {
    return this.#started;
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
  decide(ssrc: number, sequenceNumber: number, timestamp: number, isKeyframe: boolean, out: ForwardResult): DropReason {
    if (this.#paused) return DropReason.Paused;
    if (ssrc !== this.#sourceSsrc) {
      this.#sourceSsrc = ssrc;
      this.#started = false;
    }
    if (!this.#started) {
      if (this.waitForKeyframe && !isKeyframe) return DropReason.WaitingForKeyframe;
      this.#start(sequenceNumber, timestamp);
    } else if (((sequenceNumber - this.#startSeq + SEQ_MOD) % SEQ_MOD) >= HALF_SEQ) {
      return DropReason.BeforeStart;
    }
    const outSeq = (sequenceNumber + this.#seqOffset) % SEQ_MOD;
    const outTs = (timestamp + this.#tsOffset) >>> 0;
    // Track the newest output (in 16-bit serial arithmetic) so a later rebase continues after it.
    if (((outSeq - this.#lastOutSeq + SEQ_MOD) % SEQ_MOD) < HALF_SEQ) {
      this.#lastOutSeq = outSeq;
      this.#lastOutTs = outTs;
    }
    this.#hasOutput = true;
    out.sequenceNumber = outSeq;
    out.timestamp = outTs;
    return DropReason.None;
  }

  /** The incoming sequence number an outgoing one was mapped from (to answer a NACK from the cache). */
  incomingSequenceNumber(outgoing: number): number {
    return (outgoing - this.#seqOffset + SEQ_MOD) % SEQ_MOD;
  }

  /** The outgoing timestamp for an incoming one under the current mapping (for retransmissions). */
  outgoingTimestamp(incoming: number): number {
    return (incoming + this.#tsOffset) >>> 0;
  }

  #start(sequenceNumber: number, timestamp: number): void {
    const nextSeq = (this.#lastOutSeq + 1) % SEQ_MOD;
    const nextTs = this.#hasOutput ? (this.#lastOutTs + this.timestampStep) >>> 0 : this.#lastOutTs;
    this.#seqOffset = (nextSeq - sequenceNumber + SEQ_MOD) % SEQ_MOD;
    this.#tsOffset = (nextTs - timestamp) >>> 0;
    this.#startSeq = sequenceNumber;
    this.#started = true;
  }
}
