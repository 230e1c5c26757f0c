/**
 * Transport-wide congestion control feedback (draft-holmer-rmcat-transport-wide-cc-extensions-01):
 * the packet model shared by the encoder, the decoder and the recorder.
 */

/** The RTP header extension carrying the 16-bit transport-wide sequence number (§2). */
export const TRANSPORT_CC_EXTENSION_URI = 'http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01';

/** RTCP transport layer feedback (RTPFB, RFC 4585 §6.1) ... */
export const RTCP_PT_RTPFB = 205;
/** ... with FMT=15: transport-wide feedback (§3.1). */
export const RTCP_FMT_TRANSPORT_CC = 15;

/** Packet status symbols (§3.1.1). */
export const PacketStatus = {
  notReceived: 0,
  /** Received, receive delta fits one unsigned byte. */
  smallDelta: 1,
  /** Received, receive delta needs two signed bytes (large or negative). */
  largeDelta: 2,
} as const;
export type PacketStatusSymbol = (typeof PacketStatus)[keyof typeof PacketStatus];

/** Receive deltas are in multiples of 250 µs (§3.1.5). */
export const DELTA_TICK_US = 250;
/** The reference time is in multiples of 64 ms (§3.1). */
export const REFERENCE_TIME_UNIT_US = 64_000;

/** Marks a packet reported as not received in {@link TransportFeedback.receiveDeltas}. */
export const NOT_RECEIVED = -0x8000_0000;

/** Fixed part: RTCP header (4) + sender SSRC, media SSRC (8) + base seq, status count, ref time, fb count (8). */
export const FEEDBACK_HEADER_BYTES = 20;

/** One transport-wide feedback packet, as sent on the wire but with chunks expanded. */
export interface TransportFeedback {
  /** SSRC of the packet sender (the feedback's author). */
  senderSsrc: number;
  /** SSRC of the media source (libwebrtc puts the SSRC of a received RTP stream here). */
  mediaSsrc: number;
  /** Transport-wide sequence number of the first packet reported, 16 bits. */
  baseSequenceNumber: number;
  /** Signed 24-bit reference time in multiples of 64 ms; the first receive delta counts from it. */
  referenceTime: number;
  /** 8-bit counter incremented for each feedback packet sent. */
  feedbackPacketCount: number;
  /**
   * One entry per packet from the base sequence number on (its length is the packet status count): the receive
   * delta in 250 µs ticks from the previous received packet (or from the reference time for the first one), or
   * {@link NOT_RECEIVED}.
   */
  receiveDeltas: Int32Array;
}

/** The status symbol for a receive delta in ticks, or -1 if two signed bytes cannot hold it (§3.1.5). */
export function symbolForDelta(ticks: number): PacketStatusSymbol | -1 {
  if (ticks === NOT_RECEIVED) return PacketStatus.notReceived;
  if (ticks >= 0 && ticks <= 0xff) return PacketStatus.smallDelta;
  if (ticks >= -0x8000 && ticks <= 0x7fff) return PacketStatus.largeDelta;
  return -1;
}
