import { decodeTransportFeedback } from '../media/transport-cc/feedback-decoder.js';
import { RTCP_FMT_TRANSPORT_CC, RTCP_PT_RTPFB, type TransportFeedback } from '../media/transport-cc/feedback-types.js';

/**
 * Takes the transport-wide feedback packets out of one decrypted RTCP compound packet (RFC 3550 §6.1: packets back
 * to back, each with its length) and hands each to `onFeedback`. Returns true when the compound held nothing else,
 * so nothing else needs to read it; a malformed packet ends the walk (false: werift reads the rest and drops it).
 */
export function readTransportFeedback(compound: Buffer, onFeedback: (feedback: TransportFeedback) => void): boolean {
  let offset = 0;
  let onlyFeedback = true;
  while (offset + 4 <= compound.length) {
    const length = (compound.readUInt16BE(offset + 2) + 1) * 4;
    if (offset + length > compound.length) return false;
    if (compound[offset + 1] === RTCP_PT_RTPFB && (compound[offset] & 0x1f) === RTCP_FMT_TRANSPORT_CC) {
      let feedback: TransportFeedback;
      try {
        feedback = decodeTransportFeedback(compound.subarray(offset, offset + length)).feedback;
      } catch {
        return false;
      }
      onFeedback(feedback);
    } else {
      onlyFeedback = false;
    }
    offset += length;
  }
  return onlyFeedback && offset === compound.length;
}
