import type { RTCRtpCodecParameters } from 'werift';

/**
 * The codec names of each media section of a remote SDP, by mid, in the order of its m= line (the offerer's
 * preference, RFC 8829 §5.3.1). werift answers in its own order, and a browser sends the first codec of the
 * answer, so the SFU answers in the publisher's order instead.
 */
export function remoteCodecOrder(sdp: string): Map<string, string[]> {
  const order = new Map<string, string[]>();
  for (const section of sdp.split(/\r?\nm=/).slice(1)) {
    const formats = section.split(/\r?\n/, 1)[0].split(' ').slice(3);
    const mid = /\r?\na=mid:(\S+)/.exec(section)?.[1];
    if (!mid) continue;
    const names = new Map<string, string>();
    for (const match of section.matchAll(/\r?\na=rtpmap:(\d+) ([^/\s]+)/g)) names.set(match[1], match[2].toLowerCase());
    order.set(mid, formats.map((pt) => names.get(pt)).filter((n): n is string => n !== undefined));
  }
  return order;
}

/** `codecs` sorted by where their name first appears in `remoteNames`; names the remote lacks go last. */
export function sortByRemoteOrder(codecs: readonly RTCRtpCodecParameters[], remoteNames: readonly string[]): RTCRtpCodecParameters[] {
  const rank = (codec: RTCRtpCodecParameters) => {
    const index = remoteNames.indexOf(codec.name.toLowerCase());
    return index < 0 ? Number.MAX_SAFE_INTEGER : index;
  };
  return [...codecs].sort((a, b) => rank(a) - rank(b));
}
