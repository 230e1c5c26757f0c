/**
 * Turns one incoming stream's 16-bit sequence numbers and 32-bit timestamps into extended numbers once, as
 * packets arrive (RFC 3550 §A.1 keeps a cycle count the same way; LiveKit's RTP munger and mediasoup's
 * SeqManager do it at the edge too), so every later comparison is a plain `<` that stays right after any
 * number of wraps. Also recognises duplicates (a publisher's retransmission of a packet that did arrive)
 * within the last WINDOW sequence numbers. Allocation-free: the results are left in public fields.
 */
export const enum Arrival {
  /** Newer than every packet so far (gaps before it are losses, still to come or not). */
  Newest = 0,
  /** Older than the newest, not seen before: reordered, or a retransmission that fills a gap. */
  Late = 1,
  Duplicate = 2,
  /** More than WINDOW packets older than the newest: too old to tell from a duplicate, and useless. */
  Stale = 3,
}

const SEQ_CYCLE = 0x1_0000;
const TS_CYCLE = 0x1_0000_0000;
/** Sequence numbers remembered for duplicate detection (a power of two, a multiple of 32). */
export const UNWRAP_WINDOW = 2048;
const WORD_MASK = UNWRAP_WINDOW / 32 - 1;
/**
 * This many stale packets in a row mean the sender's numbering jumped by more than half the 16-bit space
 * (a restarted encoder keeping its SSRC): numbering continues from the newest instead of stalling forever.
 */
export const RESYNC_AFTER_STALE = 64;

export class RtpUnwrapper {
  /** The extended sequence number of the packet last given to `unwrap`. */
  sequenceNumber = 0;
  /** The extended timestamp of the packet last given to `unwrap`. */
  timestamp = 0;
  readonly #seen = new Uint32Array(UNWRAP_WINDOW / 32);
  #ssrc = -1;
  /** Internal extended numbers keep the packets' low 16 bits; outputs add this (non-zero after a resync). */
  #seqShift = 0;
  #highestSeq = 0;
  #highestTs = 0;
  #staleRun = 0;

  /** A new SSRC starts a new numbering (its first packet is one cycle up, so earlier late packets stay positive). */
  unwrap(ssrc: number, sequenceNumber: number, timestamp: number): Arrival {
    if (ssrc !== this.#ssrc) {
      this.#ssrc = ssrc;
      this.#seqShift = 0;
      this.#restart(sequenceNumber + SEQ_CYCLE, timestamp + TS_CYCLE);
      return Arrival.Newest;
    }
    // Signed distances from the newest packet: 16-bit for sequence numbers, 32-bit for timestamps.
    const delta = ((sequenceNumber - this.#highestSeq) << 16) >> 16;
    const extended = this.#highestSeq + delta;
    const extendedTs = this.#highestTs + ((timestamp - this.#highestTs) | 0);
    if (delta > 0) {
      this.#advance(extended);
      this.#highestTs = extendedTs;
      this.#staleRun = 0;
      this.sequenceNumber = extended + this.#seqShift;
      this.timestamp = extendedTs;
      return Arrival.Newest;
    }
    if (-delta >= UNWRAP_WINDOW) {
      if (++this.#staleRun < RESYNC_AFTER_STALE) return Arrival.Stale;
      // Continue right after the newest: this packet's number becomes the next one.
      const internal = sequenceNumber + SEQ_CYCLE;
      this.#seqShift = this.#highestSeq + this.#seqShift + 1 - internal;
      this.#restart(internal, extendedTs);
      return Arrival.Newest;
    }
    this.#staleRun = 0;
    const word = (extended >>> 5) & WORD_MASK;
    const bit = 1 << (extended & 31);
    if ((this.#seen[word] & bit) !== 0) return Arrival.Duplicate;
    this.#seen[word] |= bit;
    this.sequenceNumber = extended + this.#seqShift;
    this.timestamp = extendedTs;
    return Arrival.Late;
  }

  #restart(extended: number, extendedTs: number): void {
    this.#seen.fill(0);
    this.#highestSeq = extended - 1;
    this.#advance(extended);
    this.#highestTs = extendedTs;
    this.#staleRun = 0;
    this.sequenceNumber = extended + this.#seqShift;
    this.timestamp = extendedTs;
  }

  /** Moves the newest to `extended`: forgets the numbers the window slides over, then marks `extended` seen. */
  #advance(extended: number): void {
    const seen = this.#seen;
    if (extended - this.#highestSeq >= UNWRAP_WINDOW) {
      seen.fill(0);
    } else {
      for (let n = this.#highestSeq + 1; n < extended; n++) seen[(n >>> 5) & WORD_MASK] &= ~(1 << (n & 31));
    }
    seen[(extended >>> 5) & WORD_MASK] |= 1 << (extended & 31);
    this.#highestSeq = extended;
  }
}
