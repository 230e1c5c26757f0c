/**
 * RTCP Generic NACK (RFC 4585 §6.2.1): a transport-layer feedback message (PT=205, FMT=1) whose FCI entries are
 * a PID (the first lost sequence number) and a BLP (bit i set: PID+i+1 is lost too).
 */

const RTPFB = 205;
const FMT_GENERIC_NACK = 1;
/** Header (4) + sender SSRC (4) + media source SSRC (4) (RFC 4585 §6.1). */
const FIXED_BYTES = 12;
/** FCI entries per packet: keeps one NACK packet well under a 1200-byte MTU after SRTCP. */
export const MAX_NACK_ITEMS_PER_PACKET = 250;

/**
 * Encodes the NACKs for `sequenceNumbers` (16-bit, oldest first in extended order) as one or more Generic NACK
 * packets. An entry never covers a wrap from 65535 to 0 with its BLP: RFC 4585 allows it, but werift's parser
 * (0.25.2) computes PID+i+1 without wrapping and would ask its cache for sequence number 65536, so a werift
 * publisher would not retransmit it; starting a new entry at 0 costs 4 bytes once per 65,536 packets.
 */
export function encodeGenericNacks(senderSsrc: number, mediaSsrc: number, sequenceNumbers: readonly number[]): Buffer[] {
  const items: number[] = []; // PID << 16 | BLP
  let pid = -1;
  let blp = 0;
  for (const seq of sequenceNumbers) {
    const distance = seq - pid - 1; // no wrap: 0 after 65535 starts a new entry
    if (pid >= 0 && distance >= 0 && distance < 16) {
      blp |= 1 << distance;
      continue;
    }
    if (pid >= 0) items.push(((pid << 16) | blp) >>> 0);
    pid = seq;
    blp = 0;
  }
  if (pid >= 0) items.push(((pid << 16) | blp) >>> 0);
  const packets: Buffer[] = [];
  for (let start = 0; start < items.length; start += MAX_NACK_ITEMS_PER_PACKET) {
    const chunk = items.slice(start, start + MAX_NACK_ITEMS_PER_PACKET);
    const packet = Buffer.alloc(FIXED_BYTES + 4 * chunk.length);
    packet[0] = 0x80 | FMT_GENERIC_NACK; // V=2, P=0, FMT=1
    packet[1] = RTPFB;
    packet.writeUInt16BE(packet.length / 4 - 1, 2); // length in 32-bit words minus one (RFC 3550 §6.4.1)
    packet.writeUInt32BE(senderSsrc >>> 0, 4);
    packet.writeUInt32BE(mediaSsrc >>> 0, 8);
    chunk.forEach((item, i) => packet.writeUInt32BE(item, FIXED_BYTES + 4 * i));
    packets.push(packet);
  }
  return packets;
}
