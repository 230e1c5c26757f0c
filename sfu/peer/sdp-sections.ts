/**
 * Reading the media sections of an SDP as text (RFC 8866 §5.14), for checks made before werift applies it:
 * how many tracks an offer would publish, and whether an answer has the m-lines of the offer it answers
 * (RFC 3264 §6: same number of m-lines, in the same order; RFC 8843 §9.2: a=mid identifies each).
 */
export interface MediaSection {
  kind: string;
  port: number;
  mid?: string;
  /** a=sendrecv/sendonly/recvonly/inactive; sendrecv when absent (RFC 8866 §6.7). */
  direction: string;
}

export function mediaSections(sdp: string): MediaSection[] {
  const sections: MediaSection[] = [];
  for (const text of sdp.split(/\r?\nm=/).slice(1)) {
    const [mLine] = text.split(/\r?\n/, 1);
    const [kind = '', port = ''] = mLine.split(' ');
    const mid = /\r?\na=mid:([^\r\n]+)/.exec(text)?.[1];
    const direction = /\r?\na=(sendrecv|sendonly|recvonly|inactive)\b/.exec(text)?.[1] ?? 'sendrecv';
    sections.push({ kind, port: Number.parseInt(port, 10) || 0, ...(mid !== undefined ? { mid } : {}), direction });
  }
  return sections;
}

/** Audio and video sections an offerer sends on (not rejected, direction sendonly or sendrecv). */
export function sendingMediaSections(sdp: string): MediaSection[] {
  return mediaSections(sdp).filter(
    (s) => (s.kind === 'audio' || s.kind === 'video') && s.port !== 0 && (s.direction === 'sendonly' || s.direction === 'sendrecv'),
  );
}

/** Why an answer whose m-lines have `mids` (in order) does not answer an offer with `offerMids`, or undefined when it does. */
export function midsMismatch(offerMids: readonly (string | undefined)[], mids: readonly (string | undefined)[]): string | undefined {
  if (mids.length !== offerMids.length) return `it has ${mids.length} m-lines; the offer it answers has ${offerMids.length}`;
  for (let i = 0; i < mids.length; i++) {
    if (mids[i] !== offerMids[i]) return `m-line ${i} has mid "${mids[i] ?? ''}"; the offer has "${offerMids[i] ?? ''}" there`;
  }
  return undefined;
}

/**
 * The ICE credentials (RFC 8839 §5.4 ice-ufrag and ice-pwd) a description gives its first transport: with BUNDLE
 * every m-line has the same ones. A description whose credentials differ from the previous one's restarts ICE
 * (RFC 8839 §4.4.1.1.1).
 */
export function iceCredentials(sdp: string): string | undefined {
  const ufrag = /^a=ice-ufrag:([^\r\n]*)/m.exec(sdp)?.[1];
  const pwd = /^a=ice-pwd:([^\r\n]*)/m.exec(sdp)?.[1];
  return ufrag === undefined || pwd === undefined ? undefined : `${ufrag} ${pwd}`;
}
