import {
  FEEDBACK_HEADER_BYTES,
  NOT_RECEIVED,
  PacketStatus,
  RTCP_FMT_TRANSPORT_CC,
  RTCP_PT_RTPFB,
  type TransportFeedback,
} from './feedback-types.js';

/** A transport-wide feedback packet that does not follow the draft; `message` says which rule it breaks. */
export class TransportFeedbackParseError extends Error {
  constructor(message: string) {
    super(`transport-cc feedback: ${message}`);
    this.name = 'TransportFeedbackParseError';
  }
}

/** A decoded packet and the number of bytes it occupies (its RTCP length), to walk a compound packet. */
export interface DecodedTransportFeedback {
  feedback: TransportFeedback;
  byteLength: number;
}

/**
 * Decodes one transport-wide feedback packet (draft-holmer-rmcat-transport-wide-cc-extensions-01 §3.1) at the
 * start of `data`, which may be followed by more RTCP packets. Every length is checked before it is read; trailing
 * bytes after the last receive delta (zero padding without the P bit, as the draft's figure shows) are ignored.
 */
export function decodeTransportFeedback(data: Uint8Array): DecodedTransportFeedback {
  if (data.length < FEEDBACK_HEADER_BYTES) throw new TransportFeedbackParseError(`${data.length} bytes is too short`);
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const first = data[0];
  if (first >> 6 !== 2) throw new TransportFeedbackParseError(`version ${first >> 6}, expected 2`);
  if (data[1] !== RTCP_PT_RTPFB || (first & 0x1f) !== RTCP_FMT_TRANSPORT_CC) {
    throw new TransportFeedbackParseError(`PT=${data[1]} FMT=${first & 0x1f}, expected PT=205 FMT=15`);
  }
  // RFC 3550 §6.4.1: the length is in 32-bit words minus one, header and padding included.
  const byteLength = (view.getUint16(2) + 1) * 4;
  if (byteLength > data.length) {
    throw new TransportFeedbackParseError(`length field says ${byteLength} bytes, only ${data.length} present`);
  }
  if (byteLength < FEEDBACK_HEADER_BYTES) throw new TransportFeedbackParseError(`length ${byteLength} is too short`);
  let end = byteLength;
  if (first & 0x20) {
    const padding = data[byteLength - 1];
    if (padding === 0 || padding > byteLength - FEEDBACK_HEADER_BYTES) {
      throw new TransportFeedbackParseError(`padding count ${padding} is invalid`);
    }
    end -= padding;
  }

  const statusCount = view.getUint16(14);
  if (statusCount === 0) throw new TransportFeedbackParseError('packet status count is 0');
  const symbols = new Uint8Array(statusCount);
  let offset = FEEDBACK_HEADER_BYTES;
  for (let filled = 0; filled < statusCount; offset += 2) {
    if (offset + 2 > end) throw new TransportFeedbackParseError(`packet chunks end after ${filled} of ${statusCount} statuses`);
    filled = readChunk(view.getUint16(offset), symbols, filled);
  }

  const receiveDeltas = new Int32Array(statusCount);
  for (let i = 0; i < statusCount; i++) {
    const symbol = symbols[i];
    if (symbol === PacketStatus.notReceived) {
      receiveDeltas[i] = NOT_RECEIVED;
    } else if (symbol === PacketStatus.smallDelta) {
      if (offset + 1 > end) throw new TransportFeedbackParseError(`receive delta ${i} is missing`);
      receiveDeltas[i] = data[offset++];
    } else if (symbol === PacketStatus.largeDelta) {
      if (offset + 2 > end) throw new TransportFeedbackParseError(`receive delta ${i} is missing`);
      receiveDeltas[i] = view.getInt16(offset);
      offset += 2;
    } else {
      throw new TransportFeedbackParseError(`reserved status symbol for packet ${i}`);
    }
  }

  const feedback: TransportFeedback = {
    senderSsrc: view.getUint32(4),
    mediaSsrc: view.getUint32(8),
    baseSequenceNumber: view.getUint16(12),
    referenceTime: (view.getUint32(16) >> 8) | 0, // signed 24-bit: arithmetic shift of the top 3 bytes
    feedbackPacketCount: data[19],
    receiveDeltas,
  };
  return { feedback, byteLength };
}

/** Expands one packet chunk (§3.1.3, §3.1.4) into `symbols` from `filled`; returns the new fill level. */
function readChunk(chunk: number, symbols: Uint8Array, filled: number): number {
  const room = symbols.length - filled;
  if ((chunk & 0x8000) === 0) {
    const symbol = (chunk >> 13) & 0x3;
    const run = Math.min(chunk & 0x1fff, room);
    symbols.fill(symbol, filled, filled + run);
    return filled + run;
  }
  if ((chunk & 0x4000) === 0) {
    const count = Math.min(14, room);
    for (let i = 0; i < count; i++) symbols[filled + i] = (chunk >> (13 - i)) & 0x1;
    return filled + count;
  }
  const count = Math.min(7, room);
  for (let i = 0; i < count; i++) symbols[filled + i] = (chunk >> (2 * (6 - i))) & 0x3;
  return filled + count;
}
