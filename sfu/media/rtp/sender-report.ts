/**
 * RTCP Sender Reports (RFC 3550 §6.4.1) for the SFU's outgoing streams, built without I/O.
 *
 * The SFU does not sample media; it rewrites timestamps. A receiver lines up audio and video (lip sync)
 * with each stream's NTP↔RTP pair (RFC 3550 §6.4.1, "NTP timestamp" and "RTP timestamp"), so a down
 * track's report carries the publisher's own relation: the RTP timestamp of the publisher's latest SR,
 * translated into the down track's numbering and advanced at the clock rate by the time since that SR's NTP
 * time, mapped onto the SFU's clock by the publisher's PublisherClock (rtpTimestampFromReport; a report without
 * a usable NTP time is anchored at its arrival), paired with "now" on the SFU's clock (which the subscriber echoes in
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

/** The RTP timestamp at `nowMs`, extrapolated from a publisher SR's (translated) RTP timestamp and its time on the SFU's clock. */
export function rtpTimestampFromReport(reportRtpTimestamp: number, reportAtMs: number, clockRate: number, nowMs: number): number {
  return (reportRtpTimestamp + Math.round(((nowMs - reportAtMs) * clockRate) / 1000)) >>> 0;
}

/** NTP seconds (32 bits) and fraction (32 bits) for a Unix time in milliseconds. */
export function ntpFromUnixMs(unixMs: number): { seconds: number; fraction: number } {
  const wholeMs = Math.floor(unixMs);
  const seconds = Math.floor(wholeMs / 1000);
  const fraction = Math.floor((((wholeMs - seconds * 1000) + (unixMs - wholeMs)) / 1000) * 0x1_0000_0000);
  return { seconds: (seconds + NTP_UNIX_OFFSET_S) >>> 0, fraction: Math.min(fraction, 0xffff_ffff) >>> 0 };
}

/**
 * NTP fractions below this (≈ 0.24 ms) are taken as a clock that does not fill the fraction: werift's reports put
 * the decimal digits of the milliseconds there, whole seconds in effect. A real clock lands below it once in 4,096.
 */
const COARSE_FRACTION = 1 << 20;

/** Unix ms of a 64-bit NTP timestamp, or undefined when its fraction is too coarse to trust (see above). */
export function unixMsFromNtp(ntp: bigint): number | undefined {
  const fraction = Number(ntp & 0xffff_ffffn);
  if (fraction < COARSE_FRACTION) return undefined;
  return (Number(ntp >> 32n) - NTP_UNIX_OFFSET_S) * 1000 + (fraction / 0x1_0000_0000) * 1000;
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
