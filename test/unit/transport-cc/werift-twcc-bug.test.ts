import {
  RTCRtpCodecParameters,
  RTCRtpReceiver,
  RTP_EXTENSION_URI,
  RtpHeader,
  RtpPacket,
  useTWCC,
  type PeerConfig,
  type RTCDtlsTransport,
  type RtcpPacket,
} from 'werift';
import { describe, expect, it } from 'vitest';
import { decodeTransportFeedback, TransportFeedbackParseError } from '../../../sfu/media/transport-cc/feedback-decoder.js';
import { encodeTransportFeedback } from '../../../sfu/media/transport-cc/feedback-encoder.js';
import { FeedbackRecorder } from '../../../sfu/media/transport-cc/feedback-recorder.js';
import { NOT_RECEIVED } from '../../../sfu/media/transport-cc/feedback-types.js';

/** Transport-wide sequence numbers of the packets "received": 13 is lost. */
const ARRIVED = [10, 11, 12, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23];

/**
 * Drives werift 0.25.2's own receive path: RTCRtpReceiver.handleRTP() creates a ReceiverTWCC on the first packet
 * of a codec with transport-cc feedback, then hands it each packet's sequence number; it sends feedback once it
 * holds more than 10. Returns the bytes werift would have encrypted and sent.
 */
function weriftFeedback(): Buffer[] {
  const sent: Buffer[] = [];
  const dtls = {
    sendRtcp: async (packets: RtcpPacket[]) => {
      sent.push(Buffer.concat(packets.map((p) => p.serialize())));
    },
  };
  const receiver = new RTCRtpReceiver({ debug: {} } as PeerConfig, 'video', 0x1111);
  receiver.setDtlsTransport(dtls as unknown as RTCDtlsTransport);
  receiver.prepareReceive({
    codecs: [new RTCRtpCodecParameters({ mimeType: 'video/VP8', clockRate: 90000, payloadType: 96, rtcpFeedback: [useTWCC()] })],
    encodings: [],
    headerExtensions: [],
  });
  for (const seq of ARRIVED) {
    const packet = new RtpPacket(new RtpHeader({ ssrc: 0x5555, payloadType: 96, sequenceNumber: seq }), Buffer.alloc(10));
    receiver.handleRtpBySsrc(packet, { [RTP_EXTENSION_URI.transportWideCC]: seq });
  }
  receiver.stop();
  return sent;
}

describe("werift 0.25.2's transport-cc feedback (documented bug)", () => {
  it('is malformed where ours is well formed, for the same arrivals', () => {
    const [werift] = weriftFeedback();

    // 1. Not padded to 32 bits, and the length field (words - 1) does not cover the packet: the last receive
    //    delta lies outside it, so libwebrtc's RTCP parser rejects the feedback (and what follows it).
    expect(werift.length % 4).not.toBe(0);
    expect((werift.readUInt16BE(2) + 1) * 4).toBeLessThan(werift.length);
    expect(werift[0] & 0x20).toBe(0); // no padding bit either
    expect(() => decodeTransportFeedback(werift)).toThrow(TransportFeedbackParseError);
    // 2. The first packet (10) is never reported: it only created the ReceiverTWCC.
    expect(werift.readUInt16BE(12)).toBe(11);
    // 3. Gaps are mis-encoded: one run length chunk claims all 12 packets from 11 to 22 were received,
    //    including 13 which never arrived.
    expect(werift.readUInt16BE(14)).toBe(12);
    expect(werift.readUInt16BE(20)).toBe((0b01 << 13) | 12);

    // Ours, for the same arrivals 1 ms apart.
    const recorder = new FeedbackRecorder({ senderSsrc: 0x1111 });
    ARRIVED.forEach((seq, i) => recorder.record(seq, 5_000_000 + i * 1000, 0x5555));
    const [ours] = recorder.buildFeedback(5_100_000).map((fb) => encodeTransportFeedback(fb));
    expect(ours.length % 4).toBe(0);
    expect((ours.readUInt16BE(2) + 1) * 4).toBe(ours.length);
    const { feedback } = decodeTransportFeedback(ours);
    expect(feedback.baseSequenceNumber).toBe(10);
    expect(feedback.receiveDeltas).toHaveLength(14);
    expect(feedback.receiveDeltas[13 - 10]).toBe(NOT_RECEIVED);
    expect(Array.from(feedback.receiveDeltas).filter((d) => d !== NOT_RECEIVED)).toHaveLength(ARRIVED.length);
  });
});
