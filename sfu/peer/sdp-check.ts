import { InvalidSdpError } from '../errors.js';

/**
 * werift applies almost any text as a session description, so the SFU checks the shape first
 * (RFC 8866 §5: v=, o=, s= lines in order; every line `<letter>=`), and that each media section has what
 * ICE and DTLS need (RFC 8839 §5.4 ice-ufrag/ice-pwd, RFC 8122 §5 fingerprint), at session or media level.
 */
export function checkSessionDescription(sdp: string, what: string): void {
  const fail = (reason: string) => {
    throw new InvalidSdpError(`${what} is not a usable SDP: ${reason}`);
  };
  // The first three lines, then every non-empty line, by regular expressions over the whole text (a 200-m-line
  // answer has ~4,000 lines; one scan, no array of them).
  const head = /^([^\r\n]*)\r?\n+([^\r\n]*)\r?\n+([^\r\n]*)/.exec(sdp.replace(/^(\r?\n)+/, '')) ?? [];
  if (head[1] !== 'v=0') fail('it must start with "v=0"');
  if (!head[2]?.startsWith('o=')) fail('the second line must be "o="');
  if (!head[3]?.startsWith('s=')) fail('the third line must be "s="');
  const bad = /^(?![a-z]=)[^\r\n]+/m.exec(sdp)?.[0];
  if (bad !== undefined) fail(`line "${bad.slice(0, 40)}" is not "<type>=<value>"`);
  const sections = sdp.split(/\r?\nm=/);
  if (sections.length < 2) fail('it has no media section');
  const session = sections[0];
  for (const media of sections.slice(1)) {
    const has = (attribute: string) => media.includes(`a=${attribute}`) || session.includes(`a=${attribute}`);
    if (/^\S+ 0 /.test(media)) continue; // a rejected or stopped section (port 0) needs nothing
    if (!has('ice-ufrag:') || !has('ice-pwd:')) fail(`media section "m=${media.split(/\r?\n/)[0]}" has no ice-ufrag/ice-pwd`);
    if (!has('fingerprint:')) fail(`media section "m=${media.split(/\r?\n/)[0]}" has no DTLS fingerprint`);
  }
}
