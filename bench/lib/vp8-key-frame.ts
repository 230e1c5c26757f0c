import { isVp8Keyframe } from '../../sfu/media/keyframe.js';

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
    if (isVp8Keyframe(payload)) {
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
