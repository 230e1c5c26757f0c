import { createVp8Descriptor, parseVp8Descriptor, writeVp8Descriptor } from './vp8-descriptor.js';

/** Per packet; nothing is kept, so a caller may reuse one object. */
export interface Vp8MungeOptions {
  /** True on the first packet forwarded from a new source (layer switch, or resume after a pause). */
  switched: boolean;
  /**
   * Highest temporal layer (TID) the subscriber may receive: frames above it are dropped. 3 or more drops none.
   * Lowered, it applies from the next frame; raised, from the next frame that can be decoded without the frames
   * dropped before (see Vp8Munger).
   */
  maxTemporalLayer: number;
}

export const enum Vp8Verdict {
  Drop = 0,
  /** Forward the payload as it is. */
  Unchanged = 1,
  /** Forward with the fields `write` writes. */
  Rewritten = 2,
}

/** Frames the incoming → outgoing PictureID map remembers: the reorder window, about 2 s of 30 fps video. */
const WINDOW = 64;
const EMPTY = -1;
const DROPPED = -1;
/** A max temporal layer that drops nothing (TID is 2 bits). */
export const NO_TEMPORAL_LIMIT = 3;

/** The extended value of a `bits`-wide counter nearest to `reference` (an extended value). */
function unwrap(reference: number, value: number, bits: number): number {
  const modulus = 2 ** bits;
  let diff = (value - reference) % modulus;
  if (diff < 0) diff += modulus;
  if (diff >= modulus / 2) diff -= modulus;
  return reference + diff;
}

/**
 * Keeps the VP8 payload descriptor (RFC 7741 §4.2) continuous for one subscriber of one video track, as
 * LiveKit's VP8 codec munger does: the Forwarder keeps RTP numbering continuous, this keeps PictureID,
 * TL0PICIDX and KEYIDX continuous across a source change (a simulcast layer switch, a resume), and drops the
 * frames of temporal layers above the one asked for while the PictureIDs sent stay contiguous (a gap would
 * read to the decoder as a lost frame it must wait for).
 *
 * PictureID: each new frame of the current source gets the next outgoing id (outgoing = incoming + offset;
 * a dropped frame decrements the offset). Frames skipped on the way (lost, or late) keep their place, so
 * their packets forward with that id whenever they come, whatever their layer: leaving the hole would stall
 * the decoder more than one extra frame costs. Decisions are remembered per frame in a window of the last
 * WINDOW incoming ids, so every packet of a frame, late or retransmitted, gets the same id or the same drop.
 * The id is written in the width (7 or 15 bits, M bit) each incoming packet uses, wrapping at 2^7 or 2^15.
 *
 * TL0PICIDX (8 bits) and KEYIDX (5 bits) get a constant offset per source, set at its first packet so that
 * it follows on from the last value sent; dropping temporal layers leaves them alone (TL0 frames are kept).
 *
 * Temporal layer (RFC 7741 §4.2, TID and Y): the layer forwarded follows `maxTemporalLayer` at new frames. Down at
 * once. Up only where the decoder has what the frame refers to: at a key frame (to the max), or at a layer sync
 * frame (Y = 1: it refers to TL0 only) of the layer just above the one forwarded, one layer at a time, since a sync
 * frame of TID 2 says nothing of the TID 1 frames after it. Chromium's L1T3 sets Y on about half its TID 1 frames and
 * a third of its TID 2 frames (test/e2e/temporal-layers.test.ts), so a raise from TID 0 to all layers takes well under
 * a second. A source that has not sent a single Y bit is raised at its next TL0 frame instead (LiveKit's rule, which
 * never waits for Y).
 *
 * Calling contract: give it, in arrival order, only packets the Forwarder forwards (so only the current
 * source's, none from before its first packet), with `switched` true on the first one of each source.
 * It does not wait for a key frame (the Forwarder does): the first packet of a source anchors the mapping,
 * whatever it is. A payload that is not a parsable descriptor (padding-only, malformed) passes unchanged:
 * the subscriber's depacketizer discards it just the same, and dropping it would open an RTP sequence gap.
 *
 * Two ways to use it, neither of which touches the incoming payload (one incoming packet goes to many
 * subscribers): `munge` returns the payload itself when nothing changes and else a rewritten copy of the
 * payload alone; `decide` + `write` rewrite fields in a buffer the caller has already copied the payload
 * into (the datagram), with no extra copy.
 */
export class Vp8Munger {
  readonly #descriptor = createVp8Descriptor();

  /** PictureID: set on the first packet of a source that carries one. */
  #pictureIdPending = true;
  /** Extended incoming ids (unwrapped within the current source): its first, and the highest seen. */
  #inStart = 0;
  #inHighest = 0;
  /** Outgoing extended id of the next new frame = incoming extended id + offset. */
  #offset = 0;
  /** Highest outgoing extended id given to a frame (forwarded or kept for a late one), when any was. */
  #outHighest = 0;
  #hasOutput = false;
  /**
   * Outgoing extended id of the highest frame forwarded so far: its TL0PICIDX and KEYIDX are the last sent,
   * which the next source follows on from. A late packet of an older frame does not move them.
   */
  #newestOut = -1;
  #newest = true;
  /** Incoming extended id → outgoing extended id or DROPPED, slot = id % WINDOW. */
  readonly #frameIn = new Float64Array(WINDOW).fill(EMPTY);
  readonly #frameOut = new Float64Array(WINDOW);

  #tl0Pending = true;
  #tl0Offset = 0;
  #lastTl0 = -1;
  #keyIdxPending = true;
  #keyIdxOffset = 0;
  #lastKeyIdx = -1;

  /** The highest temporal layer forwarded now; the current source has sent a layer sync (Y) bit. */
  #temporal = NO_TEMPORAL_LIMIT;
  #syncSeen = false;
  #temporalPending = true;
  /** The frame of the last packet `decide` saw (extended id; NaN without one), and whether it was dropped. */
  #lastFrame = Number.NaN;
  #lastDropped = false;
  #dropContinuesFrame = false;

  /**
   * Decides on one packet and updates the state; after Rewritten, `write` puts the new fields into a copy of
   * this payload. Reads `payload`, never writes it.
   */
  decide(payload: Uint8Array, options: Vp8MungeOptions): Vp8Verdict {
    if (options.switched) this.#restart();
    this.#dropContinuesFrame = false;
    const d = parseVp8Descriptor(payload, this.#descriptor);
    if (!d) {
      this.#lastFrame = Number.NaN;
      return Vp8Verdict.Unchanged;
    }
    const pictureId = d.pictureId;
    const tl0 = d.tl0PicIdx;
    const keyIdx = d.keyIdx;
    if (d.layerSync && d.temporalId > 0) this.#syncSeen = true;
    this.#newest = true;
    if (pictureId >= 0) {
      const out = this.#mapPictureId(options.maxTemporalLayer);
      if (out === DROPPED) return Vp8Verdict.Drop;
      this.#newest = out >= this.#newestOut;
      if (this.#newest) this.#newestOut = out;
      d.pictureId = out % 2 ** (d.pictureIdWide ? 15 : 7);
    } else {
      this.#lastFrame = Number.NaN;
      // No PictureID to tell frames apart: each frame's first packet moves the layer, each packet goes by its TID.
      if (d.startOfPartition && d.partitionIndex === 0) this.#followTemporal(options.maxTemporalLayer);
      if (d.temporalId > this.#temporal) return Vp8Verdict.Drop;
    }
    this.#mapCounters();
    return d.pictureId === pictureId && d.tl0PicIdx === tl0 && d.keyIdx === keyIdx ? Vp8Verdict.Unchanged : Vp8Verdict.Rewritten;
  }

  /**
   * Like `decide` for a packet sent again to answer a NACK: the same fields as when it was first forwarded,
   * without changing any state; Drop when its frame was dropped or is no longer remembered. A packet without
   * a PictureID only gets the current TL0PICIDX/KEYIDX offsets (no frame to look up).
   */
  decideRetransmission(payload: Uint8Array): Vp8Verdict {
    const d = parseVp8Descriptor(payload, this.#descriptor);
    if (!d) return Vp8Verdict.Unchanged;
    const pictureId = d.pictureId;
    const tl0 = d.tl0PicIdx;
    const keyIdx = d.keyIdx;
    if (pictureId >= 0) {
      if (this.#pictureIdPending) return Vp8Verdict.Drop;
      const out = this.#lookUp(unwrap(this.#inHighest, pictureId, d.pictureIdWide ? 15 : 7));
      if (out === DROPPED) return Vp8Verdict.Drop;
      d.pictureId = out % 2 ** (d.pictureIdWide ? 15 : 7);
    }
    if (tl0 >= 0 && !this.#tl0Pending) d.tl0PicIdx = (tl0 + this.#tl0Offset) & 0xff;
    if (keyIdx >= 0 && !this.#keyIdxPending) d.keyIdx = (keyIdx + this.#keyIdxOffset) & 0x1f;
    return d.pictureId === pictureId && d.tl0PicIdx === tl0 && d.keyIdx === keyIdx ? Vp8Verdict.Unchanged : Vp8Verdict.Rewritten;
  }

  /**
   * Writes the fields of the last Rewritten decision (of `decide` or `decideRetransmission`) into `target`,
   * where a copy of that payload starts at `at`.
   */
  write(target: Uint8Array, at = 0): void {
    writeVp8Descriptor(target, this.#descriptor, at);
  }

  /**
   * `decide` with the result as a payload: 'drop', the incoming `payload` itself when no field changes (so
   * never modified), or a new Buffer holding a rewritten copy of the payload.
   */
  munge(payload: Buffer, options: Vp8MungeOptions): 'drop' | Buffer {
    return this.#payloadFor(payload, this.decide(payload, options));
  }

  /** `decideRetransmission` with the result as a payload, as `munge`. */
  mungeRetransmission(payload: Buffer): 'drop' | Buffer {
    return this.#payloadFor(payload, this.decideRetransmission(payload));
  }

  #payloadFor(payload: Buffer, verdict: Vp8Verdict): 'drop' | Buffer {
    if (verdict === Vp8Verdict.Drop) return 'drop';
    if (verdict === Vp8Verdict.Unchanged) return payload;
    const copy = Buffer.allocUnsafe(payload.length);
    payload.copy(copy, 0);
    this.write(copy, 0);
    return copy;
  }

  /**
   * After a Drop: the packet's frame was already being dropped and the packet `decide` saw just before was of that
   * frame too, so any packet missing between them belongs to it (a frame's packets are consecutive): the Forwarder
   * may hand their numbers back as well (`Forwarder.drop`'s `withGapBefore`).
   */
  get dropContinuesFrame(): boolean {
    return this.#dropContinuesFrame;
  }

  /** The highest temporal layer forwarded now (NO_TEMPORAL_LIMIT when none is dropped). */
  get temporalLayer(): number {
    return this.#temporal;
  }

  /** A new source: each counter re-anchors on the first packet that carries it. */
  #restart(): void {
    this.#pictureIdPending = true;
    this.#tl0Pending = true;
    this.#keyIdxPending = true;
    this.#temporalPending = true;
    this.#syncSeen = false;
  }

  /**
   * At a new frame (the parsed packet's): the temporal layer forwarded follows `max`, down at once, up where the
   * frame makes the higher layer decodable (class comment). A new source starts at `max` (it starts at a key frame).
   */
  #followTemporal(max: number): void {
    const d = this.#descriptor;
    const current = this.#temporal;
    if (this.#temporalPending || max <= current || d.temporalId < 0) {
      this.#temporal = this.#temporalPending || max < current || d.temporalId < 0 ? max : current;
      this.#temporalPending = false;
      return;
    }
    if (d.keyframe || (!this.#syncSeen && d.temporalId === 0)) this.#temporal = max;
    else if (d.layerSync && d.temporalId === current + 1) this.#temporal = d.temporalId;
  }

  /** Starts the PictureID mapping at this incoming id: the first one ever passes as it is, later ones follow on. */
  #anchor(pictureId: number): void {
    const next = this.#hasOutput ? this.#outHighest + 1 : pictureId;
    this.#offset = next - pictureId;
    this.#inStart = pictureId;
    this.#inHighest = pictureId - 1;
    this.#frameIn.fill(EMPTY);
    this.#pictureIdPending = false;
  }

  /** The outgoing extended PictureID of the parsed packet's frame, or DROPPED; records new frames. */
  #mapPictureId(maxTemporalLayer: number): number {
    const d = this.#descriptor;
    const bits = d.pictureIdWide ? 15 : 7;
    if (this.#pictureIdPending) this.#anchor(d.pictureId);
    let id = unwrap(this.#inHighest, d.pictureId, bits);
    if (id - this.#inHighest >= WINDOW || this.#inHighest - id >= WINDOW) {
      // A jump the window cannot bridge (the publisher restarted its count, or a long outage): only a key
      // frame can start afresh, as after a switch; anything else could not be decoded anyway.
      if (!d.keyframe) return this.#noteFrame(Number.NaN, DROPPED);
      this.#restart();
      this.#anchor(d.pictureId);
      id = d.pictureId;
    }
    if (id <= this.#inHighest) return this.#noteFrame(id, this.#lookUp(id));
    // Frames skipped on the way keep their place: their packets may still come.
    for (let skipped = this.#inHighest + 1; skipped < id; skipped++) {
      this.#outHighest = skipped + this.#offset;
      this.#hasOutput = true;
      this.#remember(skipped, this.#outHighest);
    }
    this.#inHighest = id;
    this.#followTemporal(maxTemporalLayer);
    if (d.temporalId > this.#temporal) {
      this.#remember(id, DROPPED);
      this.#offset -= 1;
      return this.#noteFrame(id, DROPPED);
    }
    this.#outHighest = id + this.#offset;
    this.#hasOutput = true;
    this.#remember(id, this.#outHighest);
    return this.#noteFrame(id, this.#outHighest);
  }

  /** Records the frame of the packet decided on, for `dropContinuesFrame`; returns `out`. */
  #noteFrame(id: number, out: number): number {
    const dropped = out === DROPPED;
    this.#dropContinuesFrame = dropped && this.#lastDropped && this.#lastFrame === id;
    this.#lastFrame = id;
    this.#lastDropped = dropped;
    return out;
  }

  /** The decision recorded for a frame of the current source, DROPPED when unknown (before it, or too old). */
  #lookUp(id: number): number {
    if (id < this.#inStart) return DROPPED;
    const slot = id % WINDOW;
    return this.#frameIn[slot] === id ? this.#frameOut[slot] : DROPPED;
  }

  #remember(id: number, out: number): void {
    const slot = id % WINDOW;
    this.#frameIn[slot] = id;
    this.#frameOut[slot] = out;
  }

  /** TL0PICIDX and KEYIDX of the parsed packet: anchored to follow the last sent, then a constant offset. */
  #mapCounters(): void {
    const d = this.#descriptor;
    if (d.tl0PicIdx >= 0) {
      if (this.#tl0Pending) {
        this.#tl0Offset = this.#lastTl0 < 0 ? 0 : (this.#lastTl0 + 1 - d.tl0PicIdx) & 0xff;
        this.#tl0Pending = false;
      }
      d.tl0PicIdx = (d.tl0PicIdx + this.#tl0Offset) & 0xff;
      if (this.#newest) this.#lastTl0 = d.tl0PicIdx;
    }
    if (d.keyIdx >= 0) {
      if (this.#keyIdxPending) {
        this.#keyIdxOffset = this.#lastKeyIdx < 0 ? 0 : (this.#lastKeyIdx + 1 - d.keyIdx) & 0x1f;
        this.#keyIdxPending = false;
      }
      d.keyIdx = (d.keyIdx + this.#keyIdxOffset) & 0x1f;
      if (this.#newest) this.#lastKeyIdx = d.keyIdx;
    }
  }
}
