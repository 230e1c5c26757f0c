import {
  RTCRtpCodecParameters,
  RTCRtpHeaderExtensionParameters,
  useAbsSendTime,
  useAudioLevelIndication,
  useNACK,
  usePLI,
  useFIR,
  useRepairedRtpStreamId,
  useSdesMid,
  useSdesRTPStreamId,
  useTransportWideCC,
  useTWCC,
} from 'werift';

/** Fixed payload types, so a publisher's packets need no payload-type rewrite when a subscriber agrees. */
export const PayloadType = { opus: 111, vp8: 96, vp8Rtx: 97, h264: 102, h264Rtx: 103 } as const;

type Feedback = RTCRtpCodecParameters['rtcpFeedback'];

/**
 * Codecs the SFU forwards: Opus, VP8 and H264 (packetization-mode 1), video with RTX (RFC 4588); on both kinds of
 * connection, with transport-wide feedback (the SFU sends it to publishers, and estimates subscribers' downlinks from it).
 */
export function sfuCodecs(): { audio: RTCRtpCodecParameters[]; video: RTCRtpCodecParameters[] } {
  return codecs([useTWCC()], [useNACK(), usePLI(), useFIR(), useTWCC()]);
}

function codecs(audioFeedback: Feedback, videoFeedback: Feedback): { audio: RTCRtpCodecParameters[]; video: RTCRtpCodecParameters[] } {
  return {
    audio: [
      new RTCRtpCodecParameters({
        mimeType: 'audio/opus',
        clockRate: 48000,
        channels: 2,
        payloadType: PayloadType.opus,
        parameters: 'minptime=10;useinbandfec=1',
        rtcpFeedback: [...audioFeedback],
      }),
    ],
    video: [
      new RTCRtpCodecParameters({ mimeType: 'video/VP8', clockRate: 90000, payloadType: PayloadType.vp8, rtcpFeedback: [...videoFeedback] }),
      new RTCRtpCodecParameters({ mimeType: 'video/rtx', clockRate: 90000, payloadType: PayloadType.vp8Rtx, parameters: `apt=${PayloadType.vp8}` }),
      new RTCRtpCodecParameters({
        mimeType: 'video/H264',
        clockRate: 90000,
        payloadType: PayloadType.h264,
        parameters: 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f',
        rtcpFeedback: [...videoFeedback],
      }),
      new RTCRtpCodecParameters({ mimeType: 'video/rtx', clockRate: 90000, payloadType: PayloadType.h264Rtx, parameters: `apt=${PayloadType.h264}` }),
    ],
  };
}

/** RTP header extensions negotiated with clients; transport-cc lets both sides estimate bandwidth. */
export function sfuHeaderExtensions(): { audio: RTCRtpHeaderExtensionParameters[]; video: RTCRtpHeaderExtensionParameters[] } {
  return {
    audio: [useSdesMid(), useAudioLevelIndication(), useTransportWideCC(), useAbsSendTime()],
    video: [useSdesMid(), useSdesRTPStreamId(), useRepairedRtpStreamId(), useTransportWideCC(), useAbsSendTime()],
  };
}
