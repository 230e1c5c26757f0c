import {
  FEEDBACK_HEADER_BYTES,
  NOT_RECEIVED,
  RTCP_FMT_TRANSPORT_CC,
  RTCP_PT_RTPFB,
  symbolForDelta,
  type TransportFeedback,
} from './feedback-types.js';
import { PacketChunkWriter } from './packet-chunks.js';

/**
 * Encodes a transport-wide feedback packet (draft-holmer-rmcat-transport-wide-cc-extensions-01 §3.1):
 *
 *   |V=2|P|  FMT=15 |    PT=205     |           length              |
 *   |                     SSRC of packet sender                     |
 *   |                      SSRC of media source                     |
 *   |      base sequence number     |      packet status count      |
 *   |                 reference time                | fb pkt. count |
 *   |  packet chunk ...  | recv delta ... | padding ... | pad count |
 *
 * The packet is padded to a 32-bit boundary the way libwebrtc's `TransportFeedback` does it: the P bit is set and
 * the last byte holds the number of padding bytes (RFC 3550 §6.4.1), and the length field counts 32-bit words
 * minus one, padding included (RFC 3550 §6.4.1).
 *
 * Throws a RangeError on a packet the format cannot carry (no status, more than 65535, or a delta beyond ±8.19 s).
 */
export function encodeTransportFeedback(feedback: TransportFeedback, writer = new PacketChunkWriter()): Buffer {
  const deltas = feedback.receiveDeltas;
  const statusCount = deltas.length;
  if (statusCount === 0 || statusCount > 0xffff) {
    throw new RangeError(`transport-cc: packet status count ${statusCount} out of 1..65535`);
  }

  writer.reset();
  let deltaBytes = 0;
  for (let i = 0; i < statusCount; i++) {
    const symbol = symbolForDelta(deltas[i]);
    if (symbol === -1) throw new RangeError(`transport-cc: receive delta ${deltas[i]} ticks does not fit 16 bits`);
    writer.add(symbol);
    deltaBytes += symbol; // §3.1.5: small delta is 1 byte, large delta 2 bytes, not received 0
  }
  const chunks = writer.finish();

  const unpadded = FEEDBACK_HEADER_BYTES + 2 * chunks.length + deltaBytes;
  const total = paddedLength(unpadded);
  const padding = total - unpadded;
  const buf = Buffer.alloc(total);

  // RTCP common header (RFC 3550 §6.4.1, RFC 4585 §6.1).
  buf[0] = 0x80 | (padding > 0 ? 0x20 : 0) | RTCP_FMT_TRANSPORT_CC;
  buf[1] = RTCP_PT_RTPFB;
  buf.writeUInt16BE(total / 4 - 1, 2);
  buf.writeUInt32BE(feedback.senderSsrc >>> 0, 4);
  buf.writeUInt32BE(feedback.mediaSsrc >>> 0, 8);
  // §3.1: base sequence number, packet status count, 24-bit reference time, feedback packet count.
  buf.writeUInt16BE(feedback.baseSequenceNumber & 0xffff, 12);
  buf.writeUInt16BE(statusCount, 14);
  buf.writeUIntBE(feedback.referenceTime & 0xffffff, 16, 3);
  buf[19] = feedback.feedbackPacketCount & 0xff;

  let offset = FEEDBACK_HEADER_BYTES;
  for (let i = 0; i < chunks.length; i++, offset += 2) buf.writeUInt16BE(chunks[i], offset);
  for (let i = 0; i < statusCount; i++) {
    const delta = deltas[i];
    if (delta === NOT_RECEIVED) continue;
    if (delta >= 0 && delta <= 0xff) buf[offset++] = delta;
    else {
      buf.writeInt16BE(delta, offset);
      offset += 2;
    }
  }
  if (padding > 0) buf[total - 1] = padding;
  return buf;
}

/** Bytes a packet of `unpaddedBytes` occupies once padded to a 32-bit boundary. */
export function paddedLength(unpaddedBytes: number): number {
  return (unpaddedBytes + 3) & ~3;
}
