/** Whether an RTP payload starts a decodable picture, per codec. Pure; reads only what is in bounds. */

/** VP8 payload descriptor (RFC 7741 §4.2) followed by the payload header (§4.3): P bit 0 = key frame. */
export function isVp8Keyframe(payload: Uint8Array): boolean {
  if (payload.length < 1) return false;
  const first = payload[0];
  const startOfPartition = (first & 0x10) !== 0;
  const partitionIndex = first & 0x07;
  if (!startOfPartition || partitionIndex !== 0) return false;
  let offset = 1;
  if (first & 0x80) {
    if (payload.length < 2) return false;
    const ext = payload[1];
    offset = 2;
    if (ext & 0x80) {
      if (offset >= payload.length) return false;
      offset += payload[offset] & 0x80 ? 2 : 1; // PictureID, 7 or 15 bits
    }
    if (ext & 0x40) offset += 1; // TL0PICIDX
    if (ext & 0x30) offset += 1; // TID/Y/KEYIDX
  }
  if (offset >= payload.length) return false;
  return (payload[offset] & 0x01) === 0;
}

const NAL_IDR = 5;
const NAL_SPS = 7;
const NAL_STAP_A = 24;
const NAL_FU_A = 28;

/** H264 (RFC 6184 §5): an IDR slice or SPS, alone, in a STAP-A (§5.7.1) or starting a FU-A (§5.8). */
export function isH264Keyframe(payload: Uint8Array): boolean {
  if (payload.length < 1) return false;
  const type = payload[0] & 0x1f;
  if (type === NAL_IDR || type === NAL_SPS) return true;
  if (type === NAL_FU_A) {
    if (payload.length < 2) return false;
    const start = (payload[1] & 0x80) !== 0;
    const inner = payload[1] & 0x1f;
    return start && (inner === NAL_IDR || inner === NAL_SPS);
  }
  if (type === NAL_STAP_A) {
    let offset = 1;
    while (offset + 2 < payload.length) {
      const size = (payload[offset] << 8) | payload[offset + 1];
      const inner = payload[offset + 2] & 0x1f;
      if (inner === NAL_IDR || inner === NAL_SPS) return true;
      offset += 2 + size;
    }
  }
  return false;
}

export type KeyframeDetector = (payload: Uint8Array) => boolean;

/** The detector for a negotiated mime type; audio and unknown codecs never wait for a key frame. */
export function keyframeDetectorFor(mimeType: string): KeyframeDetector | undefined {
  switch (mimeType.toLowerCase()) {
    case 'video/vp8':
      return isVp8Keyframe;
    case 'video/h264':
      return isH264Keyframe;
    default:
      return undefined;
  }
}
