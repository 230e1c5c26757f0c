import { afterAll, beforeAll, expect, test } from 'vitest';
import { RtcpSenderInfo, RtcpSrPacket, type RTCRtpSender, type RtcpPacket } from 'werift';
import type { RunningServer } from '../../server/app.js';
import { ntpFromUnixMs } from '../../sfu/media/rtp/sender-report.js';
import { Bot, waitUntil } from '../helpers/bot.js';
import { startTestServer } from '../helpers/server.js';

/**
 * Lip sync (issue 7, defect 4): the subscriber's Sender Reports must carry the publisher's own relation
 * between audio and video time (RFC 3550 §6.4.1), not the SFU's forwarding clock. The publisher declares
 * video 80 ms behind what the packets' send times suggest; the subscriber's reports must keep that.
 */
const SKEW_MS = 80;
const NTP_UNIX_OFFSET_S = 2_208_988_800;
const AUDIO_PACKET_MS = 20; // the bot's Opus: 960 ticks at 48 kHz a packet
const VIDEO_FRAME_MS = 1000 / 30; // the bot's video: 3000 ticks at 90 kHz a frame, one packet a frame here

let server: RunningServer;
const bots: Bot[] = [];
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  for (const bot of bots) await bot.close();
  await server?.close();
});

type Kind = 'audio' | 'video';
const ntpMs = (ntp: bigint) => (Number(ntp >> 32n) - NTP_UNIX_OFFSET_S) * 1000 + (Number(ntp & 0xffff_ffffn) / 0x1_0000_0000) * 1000;
const ntpOf = (unixMs: number) => {
  const { seconds, fraction } = ntpFromUnixMs(unixMs);
  return (BigInt(seconds) << 32n) | BigInt(fraction);
};

// 0: both reports in one compound packet; 40: the video report queued 40 ms behind the audio one on the way (a
// home network's jitter), which must not shift video against audio.
test.each([0, 40])("the subscriber's Sender Reports keep the publisher's audio/video relation within 1 ms (video report %i ms late)", async (videoReportDelayMs) => {
  const room = `lip-${videoReportDelayMs}`;
  const stamped = { audio: 0, video: 0 };
  const latest: Record<Kind, { index: number; timestamp: number } | undefined> = { audio: undefined, video: undefined };
  const bob = await Bot.join(server.signalingUrl, room, 'bob', undefined, {
    onRtp: (packet, track) => {
      if (packet.payload.length >= 8) latest[track.kind as Kind] = { index: packet.payload.readUInt32BE(4), timestamp: packet.header.timestamp };
    },
  });
  bots.push(bob);
  const alice = await Bot.join(server.signalingUrl, room, 'alice');
  bots.push(alice);
  await alice.publish({ videoKbps: 100, videoPacketsPerFrame: 1, stamp: (kind, payload) => payload.writeUInt32BE(++stamped[kind], 4) });
  const senders = Object.fromEntries(alice.publisher!.getTransceivers().map((t) => [t.kind, t.sender])) as Record<Kind, RTCRtpSender>;
  // werift's own reports put whole seconds in the NTP field; this publisher sends its own instead.
  for (const sender of Object.values(senders)) (sender as unknown as { rtcpCancel: AbortController }).rtcpCancel.abort();
  await waitUntil(() => latest.audio !== undefined && latest.video !== undefined, 15_000, 'bob receiving audio and video');

  // One compound SR (RFC 3550 §6.1): audio RTP time as sent, video RTP time SKEW_MS later than sent.
  const sentAt = performance.timeOrigin + performance.now();
  const declared = { at: sentAt, audio: stamped.audio, video: stamped.video };
  const rtpTimestamp = (kind: Kind) => (senders[kind] as unknown as { rtpTimestamp: number }).rtpTimestamp;
  const report = (kind: Kind, rtp: number) =>
    new RtcpSrPacket({ ssrc: senders[kind].ssrc, senderInfo: new RtcpSenderInfo({ ntpTimestamp: ntpOf(sentAt), rtpTimestamp: rtp >>> 0, packetCount: 0, octetCount: 0 }) });
  const audioReport = report('audio', rtpTimestamp('audio'));
  const videoReport = report('video', rtpTimestamp('video') + SKEW_MS * 90);
  if (videoReportDelayMs === 0) {
    await senders.audio.dtlsTransport.sendRtcp([audioReport, videoReport]);
  } else {
    await senders.audio.dtlsTransport.sendRtcp([audioReport]);
    await new Promise((resolve) => setTimeout(resolve, videoReportDelayMs));
    await senders.video.dtlsTransport.sendRtcp([videoReport]);
  }
  const published = [...server.sfu.findRoom(room)!.participant('alice')!.publishedTracks.values()];
  await waitUntil(() => published.every((t) => t.senderReport() !== undefined), 5000, "the server receiving alice's reports");
  const arrivedAt = performance.now();

  // The subscriber's next reports, made after that.
  const reports: Partial<Record<Kind, { ntpMs: number; rtp: number }>> = {};
  for (const transceiver of bob.subscriber.getTransceivers()) {
    transceiver.receiver.onRtcp.subscribe((packet: RtcpPacket) => {
      if (packet.type !== 200 || performance.now() < arrivedAt + 5) return;
      const sr = packet as RtcpSrPacket;
      reports[transceiver.kind as Kind] = { ntpMs: ntpMs(sr.senderInfo.ntpTimestamp), rtp: sr.senderInfo.rtpTimestamp };
    });
  }
  await waitUntil(() => reports.audio !== undefined && reports.video !== undefined, 5000, "bob's next Sender Reports");

  // For the newest packet of each kind: when the SFU's reports say it was captured, minus when the publisher said.
  const error = (kind: Kind, clockKHz: number, packetMs: number, skewMs: number) => {
    const packet = latest[kind]!;
    const sfuSays = reports[kind]!.ntpMs + ((packet.timestamp - reports[kind]!.rtp) | 0) / clockKHz;
    const publisherSays = declared.at - skewMs + (packet.index - declared[kind]) * packetMs;
    return sfuSays - publisherSays;
  };
  const audioError = error('audio', 48, AUDIO_PACKET_MS, 0);
  const videoError = error('video', 90, VIDEO_FRAME_MS, SKEW_MS);
  console.log(`lip sync: audio ${audioError.toFixed(3)} ms, video ${videoError.toFixed(3)} ms from the publisher's timeline`);
  expect(Math.abs(audioError - videoError)).toBeLessThan(1);
}, 60_000);
