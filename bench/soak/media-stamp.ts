/**
 * The soak's mark on every RTP payload it publishes, so delivery is counted exactly per track and per 5-second
 * window: the subscriber reads, from the packet itself, which track it belongs to, in which window the publisher
 * sent it and its index (to count a retransmitted or duplicated packet once). 16 bytes at the end of the payload,
 * where neither the VP8 payload descriptor nor the SFU's key-frame detection looks.
 */
export const STAMP_BYTES = 16;
const MAGIC = 0x534f414b; // "SOAK"

export interface Stamp {
  tag: number;
  window: number;
  index: number;
}

export function writeStamp(payload: Buffer, tag: number, window: number, index: number): void {
  if (payload.length < STAMP_BYTES + 2) throw new RangeError(`payload of ${payload.length} bytes is too short for a stamp`);
  const at = payload.length - STAMP_BYTES;
  payload.writeUInt32BE(MAGIC, at);
  payload.writeUInt32BE(tag >>> 0, at + 4);
  payload.writeUInt32BE(window >>> 0, at + 8);
  payload.writeUInt32BE(index >>> 0, at + 12);
}

/** The stamp at the end of `payload`, or undefined when there is none. */
export function readStamp(payload: Uint8Array): Stamp | undefined {
  if (payload.length < STAMP_BYTES) return undefined;
  const view = new DataView(payload.buffer, payload.byteOffset + payload.length - STAMP_BYTES, STAMP_BYTES);
  if (view.getUint32(0) !== MAGIC) return undefined;
  return { tag: view.getUint32(4), window: view.getUint32(8), index: view.getUint32(12) };
}
