import { paddedLength } from './feedback-encoder.js';
import {
  DELTA_TICK_US,
  FEEDBACK_HEADER_BYTES,
  NOT_RECEIVED,
  REFERENCE_TIME_UNIT_US,
  symbolForDelta,
  type TransportFeedback,
} from './feedback-types.js';
import { PacketChunkWriter } from './packet-chunks.js';

export interface FeedbackRecorderOptions {
  /** SSRC written as the feedback's packet sender. */
  senderSsrc: number;
  /** Upper bound of one encoded feedback packet, in bytes; a longer report is split. Default 1200. */
  maxPacketBytes?: number;
  /** Packets remembered, a power of two; a gap or backlog longer than this is forgotten. Default 8192. */
  historySize?: number;
  /** How long after arrival a packet's neighbours may be reported again for a late packet. Default 500 ms. */
  backWindowUs?: number;
}

export const feedbackRecorderDefaults = {
  maxPacketBytes: 1200,
  historySize: 8192,
  backWindowUs: 500_000,
} as const;

/**
 * Remembers the arrival time of each transport-wide sequence number and turns them into feedback packets
 * (draft-holmer-rmcat-transport-wide-cc-extensions-01 §3.1), like libwebrtc's `RemoteEstimatorProxy`:
 *
 * - 16-bit sequence numbers are unwrapped into a counter that keeps growing across wraparound;
 * - each feedback covers the sequence numbers from the end of the previous one (so losses at its start are
 *   reported) up to the highest received; its base time is the first received packet's, rounded down to 64 ms;
 * - a duplicate keeps its first arrival time; a reordered packet not yet reported is simply filled in;
 * - a late packet, older than what was already reported, re-opens the window so the next feedback reports it
 *   (again with its neighbours), if it is no older than `backWindowUs` of history; older ones are dropped;
 * - a feedback is split where it would exceed `maxPacketBytes` or where a receive delta does not fit 16 bits
 *   (beyond ±8.19 s); the next packet starts there with its own reference time.
 *
 * Pure and clock-injected: arrival times and `nowUs` are microseconds on any monotonic clock. `record` is the per
 * packet path and allocates nothing; storage is a ring of typed arrays indexed by the unwrapped sequence number.
 */
export class FeedbackRecorder {
  private readonly senderSsrc: number;
  private readonly maxPacketBytes: number;
  private readonly historySize: number;
  private readonly backWindowUs: number;
  private readonly arrivalUs: Float64Array;
  private readonly received: Uint8Array;
  private readonly writer = new PacketChunkWriter();
  private scratchDeltas: Int32Array;

  private started = false;
  /** Highest unwrapped sequence number received. */
  private maxSeq = 0;
  /** First unwrapped sequence number the next feedback reports. */
  private windowStart = 0;
  /** Late packets below this are dropped rather than reported again. */
  private rewindFloor = 0;
  private mediaSsrc = 0;
  private feedbackCount = 0;

  constructor(options: FeedbackRecorderOptions) {
    this.senderSsrc = options.senderSsrc >>> 0;
    this.maxPacketBytes = options.maxPacketBytes ?? feedbackRecorderDefaults.maxPacketBytes;
    this.historySize = options.historySize ?? feedbackRecorderDefaults.historySize;
    this.backWindowUs = options.backWindowUs ?? feedbackRecorderDefaults.backWindowUs;
    if (this.historySize < 16 || this.historySize > 0x8000 || (this.historySize & (this.historySize - 1)) !== 0) {
      throw new RangeError(`historySize ${this.historySize} must be a power of two in 16..32768`);
    }
    if (this.maxPacketBytes < FEEDBACK_HEADER_BYTES + 8) {
      throw new RangeError(`maxPacketBytes ${this.maxPacketBytes} cannot hold a feedback packet`);
    }
    this.arrivalUs = new Float64Array(this.historySize);
    this.received = new Uint8Array(this.historySize);
    this.scratchDeltas = new Int32Array(this.historySize);
  }

  /** Feedback packets sent so far (the next one's 8-bit count, unwrapped). */
  get feedbackPacketsBuilt(): number {
    return this.feedbackCount;
  }

  /**
   * Notes that the RTP packet with this transport-wide sequence number arrived at `arrivalTimeUs`.
   * `mediaSsrc` is the packet's SSRC; the latest one becomes the feedback's media source SSRC.
   */
  record(transportSeq: number, arrivalTimeUs: number, mediaSsrc?: number): void {
    if (mediaSsrc !== undefined) this.mediaSsrc = mediaSsrc >>> 0;
    if (!this.started) {
      this.started = true;
      this.maxSeq = transportSeq & 0xffff;
      this.windowStart = this.maxSeq;
      this.rewindFloor = this.maxSeq - this.historySize + 1;
      this.store(this.maxSeq, arrivalTimeUs);
      return;
    }
    const seq = this.unwrap(transportSeq);
    if (seq > this.maxSeq) {
      this.advanceTo(seq);
      this.store(seq, arrivalTimeUs);
      return;
    }
    // Reordered, duplicate or late.
    if (seq < this.rewindFloor || seq <= this.maxSeq - this.historySize) return;
    const slot = this.slot(seq);
    if (this.received[slot] === 1) return; // duplicate: keep the first arrival
    this.store(seq, arrivalTimeUs);
    if (seq < this.windowStart) this.windowStart = seq; // late: report it (and what follows) again
  }

  /** Feedback for everything recorded since the last call: zero, one or (when split) more packets. */
  buildFeedback(nowUs: number): TransportFeedback[] {
    const out: TransportFeedback[] = [];
    if (!this.started || this.windowStart > this.maxSeq) return out;
    this.raiseRewindFloor(nowUs);
    let seq = this.windowStart;
    while (seq <= this.maxSeq) {
      const feedback = this.buildOne(seq);
      out.push(feedback);
      seq += feedback.receiveDeltas.length;
    }
    this.windowStart = this.maxSeq + 1;
    return out;
  }

  /** One feedback packet starting at unwrapped sequence number `base`, as long as limits allow. */
  private buildOne(base: number): TransportFeedback {
    const writer = this.writer;
    writer.reset();
    const deltas = this.scratchDeltas;
    let firstReceived = base;
    while (this.received[this.slot(firstReceived)] === 0) firstReceived++;
    const referenceTime = Math.floor(this.arrivalUs[this.slot(firstReceived)] / REFERENCE_TIME_UNIT_US);
    // Deltas are counted from the previous time as the receiver will rebuild it (rounded to 250 µs), not from
    // the exact arrival, so rounding errors do not add up (like libwebrtc).
    let lastUs = referenceTime * REFERENCE_TIME_UNIT_US;
    let deltaBytes = 0;
    let count = 0;
    const maxCount = Math.min(0xffff, this.maxSeq - base + 1);
    while (count < maxCount) {
      const slot = this.slot(base + count);
      let ticks = NOT_RECEIVED;
      if (this.received[slot] === 1) ticks = Math.round((this.arrivalUs[slot] - lastUs) / DELTA_TICK_US);
      const symbol = symbolForDelta(ticks);
      if (symbol === -1) break; // §3.1.5: beyond ±8.19 s; the next packet starts here with its own reference
      const size = FEEDBACK_HEADER_BYTES + 2 * writer.chunkCountAfterAdding(symbol) + deltaBytes + symbol;
      if (count > 0 && paddedLength(size) > this.maxPacketBytes) break;
      writer.add(symbol);
      deltaBytes += symbol; // a small delta takes 1 byte, a large 2, a lost packet none
      deltas[count++] = ticks;
      if (ticks !== NOT_RECEIVED) lastUs += ticks * DELTA_TICK_US;
    }
    return {
      senderSsrc: this.senderSsrc,
      mediaSsrc: this.mediaSsrc,
      baseSequenceNumber: base & 0xffff,
      referenceTime: toSigned24(referenceTime),
      feedbackPacketCount: this.feedbackCount++ & 0xff,
      receiveDeltas: deltas.slice(0, count),
    };
  }

  /** Forget history older than the back window, so a very late packet does not re-open old reports. */
  private raiseRewindFloor(nowUs: number): void {
    const horizon = nowUs - this.backWindowUs;
    while (this.rewindFloor < this.windowStart) {
      const slot = this.slot(this.rewindFloor);
      if (this.received[slot] === 1 && this.arrivalUs[slot] >= horizon) break;
      this.rewindFloor++;
    }
  }

  /** Moves the highest sequence number forward, marking the skipped ones as not received. */
  private advanceTo(seq: number): void {
    const gap = seq - this.maxSeq;
    if (gap >= this.historySize) this.received.fill(0);
    else for (let s = this.maxSeq + 1; s < seq; s++) this.received[this.slot(s)] = 0;
    this.maxSeq = seq;
    const oldest = seq - this.historySize + 1;
    // A backlog longer than the history: its oldest part is never reported (the sender times it out).
    if (this.windowStart < oldest) this.windowStart = oldest;
    if (this.rewindFloor < oldest) this.rewindFloor = oldest;
  }

  private store(seq: number, arrivalTimeUs: number): void {
    const slot = this.slot(seq);
    this.received[slot] = 1;
    this.arrivalUs[slot] = arrivalTimeUs;
  }

  /** The unwrapped sequence number closest to the highest one seen whose low 16 bits are `seq16`. */
  private unwrap(seq16: number): number {
    let diff = ((seq16 & 0xffff) - mod(this.maxSeq, 0x10000) + 0x10000) % 0x10000;
    if (diff >= 0x8000) diff -= 0x10000;
    return this.maxSeq + diff;
  }

  private slot(seq: number): number {
    return mod(seq, this.historySize);
  }
}

/** Non-negative remainder (`%` keeps the sign; bit masks break past 2^31). */
function mod(value: number, modulus: number): number {
  const r = value % modulus;
  return r < 0 ? r + modulus : r;
}

/** The signed 24-bit value the receiver will read for `value` (§3.1: reference time wraps). */
function toSigned24(value: number): number {
  return mod(value + 0x80_0000, 0x100_0000) - 0x80_0000;
}
