/**
 * Recognises the first complete VP8 key frame in a stream of RTP packets (RFC 7741): the packet that starts a
 * partition-0 key frame (descriptor S = 1, PID = 0; payload header P = 0), then every sequence number up to the
 * packet with the marker bit, all with that frame's RTP timestamp. Order of arrival does not matter.
 */
export class Vp8KeyFrameWatcher {
  #timestamp?: number;
  #first?: number;
  #last?: number;
  readonly #seen = new Set<number>();
  complete = false;

  /** Feeds one packet; true once a whole key frame has been received. */
  push(sequenceNumber: number, timestamp: number, marker: boolean, payload: Buffer): boolean {
    if (this.complete) return true;
    if (isVp8KeyFrameStart(payload)) {
      if (this.#timestamp !== timestamp) {
        this.#timestamp = timestamp;
        this.#seen.clear();
        this.#last = undefined;
      }
      this.#first = sequenceNumber;
    }
    if (this.#timestamp !== timestamp) return false;
    this.#seen.add(sequenceNumber);
    if (marker) this.#last = sequenceNumber;
    if (this.#first === undefined || this.#last === undefined) return false;
    const count = ((this.#last - this.#first) & 0xffff) + 1;
    for (let i = 0; i < count; i++) if (!this.#seen.has((this.#first + i) & 0xffff)) return false;
    this.complete = true;
    return true;
  }
}

/** RFC 7741 §4.2 (payload descriptor) and §4.3 (payload header): the first packet of a key frame. */
export function isVp8KeyFrameStart(payload: Buffer): boolean {
  if (payload.length < 2) return false;
  const first = payload[0];
  const start = (first & 0x10) !== 0;
  const partition = first & 0x07;
  if (!start || partition !== 0) return false;
  let offset = 1;
  if (first & 0x80) {
    const extension = payload[offset++];
    if (extension === undefined) return false;
    if (extension & 0x80) offset += payload[offset] & 0x80 ? 2 : 1; // I: PictureID, 7 or 15 bits
    if (extension & 0x40) offset += 1; // L: TL0PICIDX
    if (extension & 0x30) offset += 1; // T or K: TID/Y/KEYIDX
  }
  if (offset >= payload.length) return false;
  return (payload[offset] & 0x01) === 0; // P: 0 = key frame
}
