import { useAudioLevelIndication, useSdesMid, useTransportWideCC, type RTCRtpCodecParameters } from 'werift';
import { InvalidSdpError } from '../errors.js';

/**
 * The subscriber connection's session descriptions as text, written and read by the SFU itself (as LiveKit and
 * mediasoup do) instead of werift's SessionDescription: werift parses and prints every m-line of a description
 * several times per offer/answer (~35 ms of CPU at 200 m-lines), and a join in a full room renegotiates every
 * subscriber. Here each media section is printed once, when its m-line changes, and an answer is read with one
 * split and a scan per section, so a renegotiation costs what changed, not the size of the room.
 *
 * werift negotiates only the data-channel m-line (its ICE, DTLS and SCTP), which this module copies its transport
 * lines from; every audio and video m-line is the SFU's (JSEP, RFC 8829 §5.2 and §5.3.1; BUNDLE, RFC 8843).
 */

const URI_MID = useSdesMid().uri;
const URI_AUDIO_LEVEL = useAudioLevelIndication().uri;
const URI_TRANSPORT_CC = useTransportWideCC().uri;

/**
 * Header extensions offered on down tracks (RFC 8285), one id per URI across the BUNDLE group (RFC 8843 §9.1.5):
 * the ones the SFU writes (mid; the transport-wide sequence number its downlink estimate is fed back by, on audio
 * and video alike) and the one it forwards (audio level).
 */
export const SUBSCRIBER_EXTENSIONS = {
  audio: [
    { id: 1, uri: URI_MID },
    { id: 2, uri: URI_AUDIO_LEVEL },
    { id: 4, uri: URI_TRANSPORT_CC },
  ],
  video: [
    { id: 1, uri: URI_MID },
    { id: 4, uri: URI_TRANSPORT_CC },
  ],
} as const;

/** One sending m-line, as the SFU offers it. */
export interface SendingSection {
  kind: 'audio' | 'video';
  mid: string;
  ssrc: number;
  /** RTX (RFC 4588) SSRC, with `codecs[1]` its payload type. */
  rtxSsrc?: number;
  /** The media stream (RFC 8830 msid): an opaque id per publisher, so browsers lip-sync its tracks. */
  streamId: string;
  trackId: string;
  cname: string;
  /** The publisher's codec, then its RTX when there is one. */
  codecs: readonly RTCRtpCodecParameters[];
}

/** The lines every media section repeats from the data-channel m-line: connection, ICE and DTLS (RFC 8843 §7.1.3). */
export function transportLines(applicationSection: string): string {
  const lines = applicationSection.split('\r\n').filter((line) => /^(c=|a=(ice-ufrag|ice-pwd|ice-options|fingerprint|setup):)/.test(line));
  return lines.length ? `${lines.join('\r\n')}\r\n` : '';
}

function codecLines(codec: RTCRtpCodecParameters): string {
  const name = codec.mimeType.split('/')[1];
  let text = `a=rtpmap:${codec.payloadType} ${name}/${codec.clockRate}${codec.channels === 2 ? '/2' : ''}\r\n`;
  for (const feedback of codec.rtcpFeedback ?? []) {
    text += `a=rtcp-fb:${codec.payloadType} ${feedback.type}${feedback.parameter ? ` ${feedback.parameter}` : ''}\r\n`;
  }
  if (codec.parameters) text += `a=fmtp:${codec.payloadType} ${codec.parameters}\r\n`;
  return text;
}

/** A sending m-line (sendonly: subscribers never send media to the SFU on this connection). */
export function sendingSection(section: SendingSection, transport: string): string {
  const { kind, mid, ssrc, rtxSsrc, cname, codecs } = section;
  let text = `m=${kind} 9 UDP/TLS/RTP/SAVPF ${codecs.map((c) => c.payloadType).join(' ')}\r\n${transport}`;
  text += `a=sendonly\r\na=mid:${mid}\r\na=msid:${section.streamId} ${section.trackId}\r\na=rtcp-mux\r\n`;
  if (rtxSsrc !== undefined) text += `a=ssrc-group:FID ${ssrc} ${rtxSsrc}\r\n`;
  text += `a=ssrc:${ssrc} cname:${cname}\r\n`;
  if (rtxSsrc !== undefined) text += `a=ssrc:${rtxSsrc} cname:${cname}\r\n`;
  for (const codec of codecs) text += codecLines(codec);
  for (const { id, uri } of SUBSCRIBER_EXTENSIONS[kind]) text += `a=extmap:${id} ${uri}\r\n`;
  return text;
}

/**
 * An m-line whose track went away: port 0 (RFC 3264 §8.2, JSEP §5.2.2), kept in place (m-lines never move) and
 * out of the BUNDLE group; once answered, a new track of the same kind may take it with a new mid.
 */
export function stoppedSection(kind: 'audio' | 'video', mid: string, codec: RTCRtpCodecParameters): string {
  return `m=${kind} 0 UDP/TLS/RTP/SAVPF ${codec.payloadType}\r\nc=IN IP4 0.0.0.0\r\na=inactive\r\na=mid:${mid}\r\n${codecLines(codec)}`;
}

/** Splits a description into its session part and its media sections (each from its "m=" to its last CRLF). */
export function splitDescription(sdp: string): { session: string; sections: string[] } {
  let text = sdp.replace(/\r?\n/g, '\r\n');
  if (!text.endsWith('\r\n')) text += '\r\n';
  const parts = text.split('\r\nm=');
  const last = parts.length - 1;
  if (last === 0) return { session: text, sections: [] };
  return { session: `${parts[0]}\r\n`, sections: parts.slice(1).map((part, i) => `m=${part}${i + 1 < last ? '\r\n' : ''}`) };
}

/** The session part of an offer: `o=` with its version (RFC 3264 §8: one more for every new offer) and the BUNDLE group. */
export function sessionPart(weriftSession: string, version: number, bundleMids: readonly string[]): string {
  return weriftSession
    .split('\r\n')
    .filter((line) => line.length > 0)
    .map((line) => {
      if (line.startsWith('o=')) {
        const fields = line.slice(2).split(' ');
        fields[2] = String(version);
        return `o=${fields.join(' ')}`;
      }
      if (line.startsWith('a=group:BUNDLE')) return `a=group:BUNDLE ${bundleMids.join(' ')}`;
      return line;
    })
    .join('\r\n')
    .concat('\r\n');
}

/** A section's a=mid (RFC 8843 §9.1), without reading the rest of it. */
export function midOf(section: string): string | undefined {
  const at = section.indexOf('\r\na=mid:');
  if (at < 0) return undefined;
  const end = section.indexOf('\r\n', at + 8);
  return section.slice(at + 8, end < 0 ? undefined : end);
}

/** What the SFU needs from one media section of a subscriber's answer. */
export interface AnsweredSection {
  kind: string;
  port: number;
  mid?: string;
  /** Payload types the answer accepts (its m= line). */
  payloadTypes: number[];
  /** Header extensions the answer accepts: id → URI. */
  extensions: Record<number, string>;
  /** The section's ICE username fragment and password, when it has its own. */
  ice?: string;
  text: string;
}

export function readAnsweredSection(text: string): AnsweredSection {
  const lines = text.split('\r\n');
  const [kind = '', port = '', , ...formats] = lines[0].slice(2).split(' ');
  const section: AnsweredSection = { kind, port: Number.parseInt(port, 10) || 0, payloadTypes: formats.map(Number), extensions: {}, text };
  let ufrag: string | undefined;
  let pwd: string | undefined;
  for (const line of lines) {
    if (line.startsWith('a=mid:')) section.mid = line.slice(6);
    else if (line.startsWith('a=extmap:')) {
      const [id, uri] = line.slice(9).split(' ');
      section.extensions[Number.parseInt(id, 10)] = uri;
    } else if (line.startsWith('a=ice-ufrag:')) ufrag = line.slice(12);
    else if (line.startsWith('a=ice-pwd:')) pwd = line.slice(10);
  }
  if (ufrag !== undefined || pwd !== undefined) section.ice = `${ufrag ?? ''} ${pwd ?? ''}`;
  return section;
}

/** The ICE credentials an answer's session part gives every section without its own (RFC 8839 §5.4). */
export function sessionIce(session: string): string | undefined {
  const ufrag = /\r\na=ice-ufrag:([^\r]*)/.exec(`\r\n${session}`)?.[1];
  const pwd = /\r\na=ice-pwd:([^\r]*)/.exec(`\r\n${session}`)?.[1];
  return ufrag === undefined && pwd === undefined ? undefined : `${ufrag ?? ''} ${pwd ?? ''}`;
}

/**
 * The answer werift applies: its session part with the BUNDLE group narrowed to the data-channel m-line, and that
 * m-line's section (werift offered nothing else).
 */
export function weriftAnswer(session: string, applicationSection: string, applicationMid: string): string {
  const lines = session.split('\r\n').filter((line) => line.length > 0);
  const narrowed = lines.map((line) => (line.startsWith('a=group:BUNDLE') ? `a=group:BUNDLE ${applicationMid}` : line));
  return `${narrowed.join('\r\n')}\r\n${applicationSection}`;
}

/** The ICE credentials of an answer's BUNDLE transport: they may change only in the answer to an ICE restart. */
export function answerIce(session: string, tag: AnsweredSection): string {
  const ice = tag.ice ?? sessionIce(session);
  if (ice === undefined) throw new InvalidSdpError('the subscriber answer has no ICE credentials');
  return ice;
}
