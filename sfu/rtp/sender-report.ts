/**
 * RTCP Sender Reports (RFC 3550 §6.4.1) for the SFU's outgoing streams, built without I/O.
 *
 * The SFU does not sample media; it rewrites timestamps. A receiver lines up audio and video (lip sync)
 * with each stream's NTP↔RTP pair (RFC 3550 §6.4.1, "NTP timestamp" and "RTP timestamp"), so a down
 * track's report carries the publisher's own relation: the RTP timestamp of the publisher's latest SR,
 * translated into the down track's numbering and advanced at the clock rate by the time since that SR
 * arrived (rtpTimestampFromReport), paired with "now" on the SFU's clock (which the subscriber echoes in
 * LSR, for the round trip). Before the publisher's first SR, the newest forwarded packet stands in for it
 * (rtpTimestampAt): right only as far as packets are forwarded at the pace they were captured.
 */

export const RTCP_SR = 200;
export const SENDER_REPORT_BYTES = 28;
/** Seconds from 1900-01-01 (NTP epoch) to 1970-01-01 (Unix epoch). */
const NTP_UNIX_OFFSET_S = 2_208_988_800;

/** What a down track knows about what it has sent on one SSRC. */
export interface SenderStats {
  ssrc: number;
  /** RTP data packets sent (RFC 3550: "sender's packet count"), modulo 2^32. */
  packetCount: number;
  /** Payload octets sent, modulo 2^32. */
  octetCount: number;
  /** The RTP timestamp of the most recent packet sent, and when it was sent (Unix ms). */
  lastRtpTimestamp: number;
  lastSentAtMs: number;
  clockRate: number;
}

/** The RTP timestamp that corresponds to `nowMs`, extrapolated from the newest packet sent. */
export function rtpTimestampAt(stats: SenderStats, nowMs: number): number {
  const ticks = Math.round(((nowMs - stats.lastSentAtMs) * stats.clockRate) / 1000);
  return (stats.lastRtpTimestamp + ticks) >>> 0;
}

/** The RTP timestamp at `nowMs`, extrapolated from a publisher SR's (translated) RTP timestamp and its arrival time. */
export function rtpTimestampFromReport(reportRtpTimestamp: number, receivedAtMs: number, clockRate: number, nowMs: number): number {
  return (reportRtpTimestamp + Math.round(((nowMs - receivedAtMs) * clockRate) / 1000)) >>> 0;
}

/** NTP seconds (32 bits) and fraction (32 bits) for a Unix time in milliseconds. */
export function ntpFromUnixMs(unixMs: number): { seconds: number; fraction: number } {
  const wholeMs = Math.floor(unixMs);
  const seconds = Math.floor(wholeMs / 1000);
  const fraction = Math.floor((((wholeMs - seconds * 1000) + (unixMs - wholeMs)) / 1000) * 0x1_0000_0000);
  return { seconds: (seconds + NTP_UNIX_OFFSET_S) >>> 0, fraction: Math.min(fraction, 0xffff_ffff) >>> 0 };
}

/** The middle 32 bits of an NTP timestamp ("LSR" in a receiver report block, RFC 3550 §6.4.1). */
export function compactNtp(seconds: number, fraction: number): number {
  return (((seconds & 0xffff) << 16) | (fraction >>> 16)) >>> 0;
}

/**
 * Writes a Sender Report without report blocks (RC = 0, length 6) at `offset`; returns its length (28).
 *
 *   V=2 P RC | PT=200 | length | SSRC | NTP sec | NTP frac | RTP ts | packet count | octet count
 */
export function writeSenderReport(out: Buffer, offset: number, stats: SenderStats, nowMs: number, rtpTimestamp = rtpTimestampAt(stats, nowMs)): number {
  const { seconds, fraction } = ntpFromUnixMs(nowMs);
  out[offset] = 0x80;
  out[offset + 1] = RTCP_SR;
  out.writeUInt16BE(SENDER_REPORT_BYTES / 4 - 1, offset + 2);
  out.writeUInt32BE(stats.ssrc >>> 0, offset + 4);
  out.writeUInt32BE(seconds, offset + 8);
  out.writeUInt32BE(fraction, offset + 12);
  out.writeUInt32BE(rtpTimestamp >>> 0, offset + 16);
  out.writeUInt32BE(stats.packetCount >>> 0, offset + 20);
  out.writeUInt32BE(stats.octetCount >>> 0, offset + 24);
  return SENDER_REPORT_BYTES;
}

/** RTT in ms from a receiver report block about our SSRC (RFC 3550 §6.4.1: A - LSR - DLSR), or undefined. */
export function roundTripMs(nowMs: number, lsr: number, dlsr: number): number | undefined {
  if (lsr === 0) return undefined;
  const { seconds, fraction } = ntpFromUnixMs(nowMs);
  const arrival = compactNtp(seconds, fraction);
  const rtt = (arrival - lsr - dlsr) >>> 0;
  // Compact NTP is 16.16 seconds; anything over a minute is a mismatched or stale report.
  return rtt < 60 * 65_536 ? (rtt * 1000) / 65_536 : undefined;
}
