import { expect, test } from 'vitest';
import { RtcpPacketConverter, RtcpSenderInfo, RtcpSrPacket } from 'werift';
import { compactNtp, ntpFromUnixMs, roundTripMs, rtpTimestampAt, writeSenderReport, type SenderStats } from '../../../sfu/media/rtp/sender-report.js';

const stats: SenderStats = { ssrc: 0xcafe0001, packetCount: 1234, octetCount: 1_100_000, lastRtpTimestamp: 0xffff_ff00, lastSentAtMs: 1_700_000_000_000, clockRate: 90_000 };

test('NTP time of a Unix instant: seconds since 1900 and a 32-bit fraction', () => {
  expect(ntpFromUnixMs(0)).toEqual({ seconds: 2_208_988_800, fraction: 0 });
  expect(ntpFromUnixMs(1500)).toEqual({ seconds: 2_208_988_801, fraction: 0x8000_0000 });
  expect(ntpFromUnixMs(250.5).fraction).toBe(Math.floor(0.2505 * 2 ** 32));
});

test('the RTP timestamp advances from the last packet sent at the clock rate, modulo 2^32', () => {
  expect(rtpTimestampAt(stats, stats.lastSentAtMs)).toBe(stats.lastRtpTimestamp);
  // 100 ms at 90 kHz = 9000 ticks, which wraps past 2^32.
  expect(rtpTimestampAt(stats, stats.lastSentAtMs + 100)).toBe((0xffff_ff00 + 9000) >>> 0);
  expect(rtpTimestampAt({ ...stats, clockRate: 48_000 }, stats.lastSentAtMs + 20)).toBe((0xffff_ff00 + 960) >>> 0);
});

test('a Sender Report is byte for byte what werift serializes, and werift parses it back', () => {
  const now = stats.lastSentAtMs + 40;
  const out = Buffer.alloc(28);
  expect(writeSenderReport(out, 0, stats, now)).toBe(28);
  const { seconds, fraction } = ntpFromUnixMs(now);
  const expected = new RtcpSrPacket({
    ssrc: stats.ssrc,
    senderInfo: new RtcpSenderInfo({
      ntpTimestamp: (BigInt(seconds) << 32n) | BigInt(fraction),
      rtpTimestamp: rtpTimestampAt(stats, now),
      packetCount: stats.packetCount,
      octetCount: stats.octetCount,
    }),
  }).serialize();
  expect(out.equals(expected)).toBe(true);
  const [parsed] = RtcpPacketConverter.deSerialize(out) as RtcpSrPacket[];
  expect(parsed.ssrc).toBe(stats.ssrc);
  expect(parsed.senderInfo.packetCount).toBe(1234);
  expect(parsed.senderInfo.rtpTimestamp).toBe((0xffff_ff00 + 3600) >>> 0);
});

test('reports for several streams go back to back in one compound packet', () => {
  const out = Buffer.alloc(56);
  writeSenderReport(out, 0, stats, stats.lastSentAtMs);
  writeSenderReport(out, 28, { ...stats, ssrc: 2, clockRate: 48_000 }, stats.lastSentAtMs);
  const packets = RtcpPacketConverter.deSerialize(out) as RtcpSrPacket[];
  expect(packets.map((p) => p.ssrc)).toEqual([stats.ssrc, 2]);
});

test('round-trip time from a report block echoing our last SR (A - LSR - DLSR)', () => {
  const sentAt = 1_700_000_000_000;
  const { seconds, fraction } = ntpFromUnixMs(sentAt);
  const lsr = compactNtp(seconds, fraction);
  // The receiver held the SR 50 ms (DLSR in 1/65536 s); the report arrives 80 ms after the SR left.
  const rtt = roundTripMs(sentAt + 80, lsr, Math.round(0.05 * 65_536));
  expect(rtt).toBeGreaterThan(29);
  expect(rtt).toBeLessThan(31);
  expect(roundTripMs(sentAt + 80, 0, 0)).toBeUndefined();
});
