/**
 * The VP8 RTP payload descriptor (RFC 7741 §4.2): read into a reusable object, and its running counters
 * (PictureID, TL0PICIDX, KEYIDX) written back at the same places. Pure and total: packets come from the
 * network, so anything short or malformed parses as undefined and nothing here throws.
 *
 *         0 1 2 3 4 5 6 7
 *        +-+-+-+-+-+-+-+-+
 *        |X|R|N|S|R| PID |   always
 *        +-+-+-+-+-+-+-+-+
 *   X:   |I|L|T|K|  RSV  |   when X = 1
 *   I:   |M| PictureID   |   when I = 1; a second PictureID byte follows when M = 1 (15 bits)
 *   L:   |   TL0PICIDX   |   when L = 1
 *   T/K: |TID|Y| KEYIDX  |   when T = 1 or K = 1
 *
 * The VP8 payload follows; the first packet of a frame (S = 1, PID = 0) starts with the payload header,
 * whose lowest bit P is 0 on a key frame (§4.3).
 */
export interface Vp8Descriptor {
  /** N: the frame is not used as a reference by any other frame. */
  nonReference: boolean;
  /** S: this packet starts a VP8 partition. */
  startOfPartition: boolean;
  /** PID: the partition index this packet's first byte belongs to (0-7). */
  partitionIndex: number;
  /** PictureID without the M bit, or -1 when absent (I = 0). */
  pictureId: number;
  /** M: the PictureID is 15 bits wide (else 7). */
  pictureIdWide: boolean;
  /** TL0PICIDX (0-255), or -1 when absent (L = 0). */
  tl0PicIdx: number;
  /** TID (0-3), or -1 when absent (T = 0). */
  temporalId: number;
  /** Y: layer sync, meaningful only when T = 1. */
  layerSync: boolean;
  /** KEYIDX (0-31), or -1 when absent (K = 0). */
  keyIdx: number;
  /** Bytes the descriptor takes; the VP8 payload starts here. */
  size: number;
  /** First packet of a key frame (§4.3): S = 1, PID = 0 and the payload header's P bit 0. */
  keyframe: boolean;
}

const X_BIT = 0x80;
const N_BIT = 0x20;
const S_BIT = 0x10;
const PID_MASK = 0x07;
const I_BIT = 0x80;
const L_BIT = 0x40;
const T_BIT = 0x20;
const K_BIT = 0x10;
const M_BIT = 0x80;
const Y_BIT = 0x20;
const KEYIDX_MASK = 0x1f;
const P_BIT = 0x01;

export function createVp8Descriptor(): Vp8Descriptor {
  return {
    nonReference: false,
    startOfPartition: false,
    partitionIndex: 0,
    pictureId: -1,
    pictureIdWide: false,
    tl0PicIdx: -1,
    temporalId: -1,
    layerSync: false,
    keyIdx: -1,
    size: 0,
    keyframe: false,
  };
}

/**
 * Reads the descriptor at the start of `payload` into `out` (reused, so a hot path allocates nothing) and
 * returns it, or undefined when the payload ends inside the descriptor or carries no VP8 data after it.
 * Reserved bits are ignored, as §4.2 asks of receivers.
 */
export function parseVp8Descriptor(payload: Uint8Array, out: Vp8Descriptor = createVp8Descriptor()): Vp8Descriptor | undefined {
  const length = payload.length;
  if (length < 1) return undefined;
  const first = payload[0];
  out.nonReference = (first & N_BIT) !== 0;
  out.startOfPartition = (first & S_BIT) !== 0;
  out.partitionIndex = first & PID_MASK;
  out.pictureId = -1;
  out.pictureIdWide = false;
  out.tl0PicIdx = -1;
  out.temporalId = -1;
  out.layerSync = false;
  out.keyIdx = -1;
  let offset = 1;
  if (first & X_BIT) {
    if (length < 2) return undefined;
    const extension = payload[1];
    offset = 2;
    if (extension & I_BIT) {
      if (offset >= length) return undefined;
      const high = payload[offset];
      if (high & M_BIT) {
        if (offset + 1 >= length) return undefined;
        out.pictureIdWide = true;
        out.pictureId = ((high & 0x7f) << 8) | payload[offset + 1];
        offset += 2;
      } else {
        out.pictureId = high;
        offset += 1;
      }
    }
    if (extension & L_BIT) {
      if (offset >= length) return undefined;
      out.tl0PicIdx = payload[offset];
      offset += 1;
    }
    if (extension & (T_BIT | K_BIT)) {
      if (offset >= length) return undefined;
      const byte = payload[offset];
      if (extension & T_BIT) {
        out.temporalId = byte >> 6;
        out.layerSync = (byte & Y_BIT) !== 0;
      }
      if (extension & K_BIT) out.keyIdx = byte & KEYIDX_MASK;
      offset += 1;
    }
  }
  // A descriptor with nothing after it carries no VP8 data: a depacketizer discards it.
  if (offset >= length) return undefined;
  out.size = offset;
  out.keyframe = out.startOfPartition && out.partitionIndex === 0 && (payload[offset] & P_BIT) === 0;
  return out;
}

/**
 * Writes the descriptor's PictureID, TL0PICIDX and KEYIDX (those present) into `target`, whose descriptor
 * starts at `at` and has the layout `descriptor` was parsed from; every other bit is kept. The PictureID is
 * written in the width the packet already uses, so the descriptor never changes size. Values are taken modulo
 * their field width. Writes outside `target` are ignored (typed-array semantics), never thrown.
 */
export function writeVp8Descriptor(target: Uint8Array, descriptor: Vp8Descriptor, at = 0): void {
  let offset = at + 2;
  if (descriptor.pictureId >= 0) {
    if (descriptor.pictureIdWide) {
      target[offset] = M_BIT | ((descriptor.pictureId >> 8) & 0x7f);
      target[offset + 1] = descriptor.pictureId & 0xff;
      offset += 2;
    } else {
      target[offset] = descriptor.pictureId & 0x7f;
      offset += 1;
    }
  }
  if (descriptor.tl0PicIdx >= 0) {
    target[offset] = descriptor.tl0PicIdx & 0xff;
    offset += 1;
  }
  if (descriptor.keyIdx >= 0) target[offset] = (target[offset] & ~KEYIDX_MASK) | (descriptor.keyIdx & KEYIDX_MASK);
}

/**
 * The TID (0-3) of a VP8 payload's descriptor, or -1 when it has none (T = 0) or is cut short: what a published
 * track needs per packet to price each temporal layer, without filling a descriptor.
 */
export function vp8TemporalId(payload: Uint8Array): number {
  const length = payload.length;
  if (length < 2 || (payload[0] & X_BIT) === 0) return -1;
  const extension = payload[1];
  if ((extension & T_BIT) === 0) return -1;
  let offset = 2;
  if (extension & I_BIT) {
    if (offset >= length) return -1;
    offset += payload[offset] & M_BIT ? 2 : 1;
  }
  if (extension & L_BIT) offset += 1;
  return offset < length ? payload[offset] >> 6 : -1;
}
