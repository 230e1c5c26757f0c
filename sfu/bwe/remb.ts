import { ReceiverEstimatedMaxBitrate, RtcpPayloadSpecificFeedback, type RTCDtlsTransport, type RtcpPacket } from 'werift';

/**
 * The receiver's estimate of its downlink in a REMB (draft-alvestrand-rmcat-remb-03 §2.2: RTCP PSFB, FMT 15,
 * unique identifier "REMB"), in bits per second; undefined for any other packet. werift parses every FMT-15
 * application-layer feedback as a REMB without checking the identifier, so it is checked here.
 */
export function rembBitrate(packet: RtcpPacket): number | undefined {
  if (!(packet instanceof RtcpPayloadSpecificFeedback)) return undefined;
  const feedback = packet.feedback;
  if (!(feedback instanceof ReceiverEstimatedMaxBitrate) || feedback.uniqueID !== 'REMB') return undefined;
  return Number(feedback.bitrate);
}

/**
 * Calls `onEstimate` with every REMB that reaches `dtls`: the connection's transport, so one estimate covers every
 * down track on it (werift would hand a REMB to the one sender whose SSRC it lists first, often an RTX SSRC it
 * does not know, i.e. to none). Returns the unsubscribe function.
 */
export function watchRemb(dtls: RTCDtlsTransport, onEstimate: (bps: number) => void): () => void {
  return dtls.onRtcp.subscribe((packet) => {
    const bps = rembBitrate(packet);
    if (bps !== undefined) onEstimate(bps);
  }).unSubscribe;
}
