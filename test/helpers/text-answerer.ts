import type { RTCPeerConnection } from 'werift';
import { midOf, splitDescription, transportLines } from '../../sfu/peer/subscriber-sdp.js';

/**
 * A bot's subscriber answers for rooms where negotiation is what is measured (bench/full-room.ts): werift answers
 * the data-channel m-line once (ICE, DTLS, SCTP), and every audio and video m-line is answered recvonly as text,
 * with the codecs and header extensions offered, and never applied, so the bot receives no media. A werift client
 * spends ~40 ms on a 200-m-line offer, and a 2-core machine running 100 of them measured the bots, not the server.
 */
export class TextAnswerer {
  #transport?: { session: string; lines: string; application: string };
  /** Each offered section's answer, by the offered text. */
  #answers = new Map<string, string>();

  constructor(private readonly pc: RTCPeerConnection) {}

  async answer(offer: string): Promise<string> {
    const { session, sections } = splitDescription(offer);
    const appIndex = sections.findIndex((s) => s.startsWith('m=application'));
    if (appIndex < 0) throw new Error('the offer has no data-channel m-line');
    if (!this.#transport) {
      const applicationMid = midOf(sections[appIndex]) ?? '';
      const narrowed = session.replace(/a=group:BUNDLE [^\r]*/, `a=group:BUNDLE ${applicationMid}`);
      await this.pc.setRemoteDescription({ type: 'offer', sdp: narrowed + sections[appIndex] });
      await this.pc.setLocalDescription(await this.pc.createAnswer());
      const answer = splitDescription(this.pc.localDescription!.sdp);
      this.#transport = { session: answer.session, lines: transportLines(answer.sections[0]), application: answer.sections[0] };
    }
    const transport = this.#transport;
    const bundle: string[] = [];
    const answered = sections.map((section, i) => {
      if (i === appIndex) {
        bundle.push(midOf(section) ?? '');
        return transport.application;
      }
      let text = this.#answers.get(section);
      if (text === undefined) {
        text = answerSection(section, transport.lines);
        this.#answers.set(section, text);
      }
      if (!text.startsWith('m=audio 0') && !text.startsWith('m=video 0')) bundle.push(midOf(text) ?? '');
      return text;
    });
    // Sections no longer offered are forgotten (a room's m-lines change as people come and go).
    this.#answers = new Map(sections.map((s, i) => [s, answered[i]]));
    const head = transport.session.replace(/a=group:BUNDLE [^\r]*/, `a=group:BUNDLE ${bundle.join(' ')}`);
    return head + answered.join('');
  }
}

/** RFC 3264 §6: the same m-line, recvonly (or rejected, port 0, when the offer stopped it), as a browser answers. */
function answerSection(offered: string, transport: string): string {
  const lines = offered.split('\r\n');
  const [kind, port, proto, ...formats] = lines[0].slice(2).split(' ');
  const keep = (prefix: string) => lines.filter((line) => line.startsWith(prefix)).map((line) => `${line}\r\n`).join('');
  if (port === '0') return `m=${kind} 0 ${proto} ${formats.join(' ')}\r\nc=IN IP4 0.0.0.0\r\na=inactive\r\n${keep('a=mid:')}${keep('a=rtpmap:')}`;
  return `m=${kind} 9 ${proto} ${formats.join(' ')}\r\n${transport}a=recvonly\r\n${keep('a=mid:')}a=rtcp-mux\r\n${keep('a=rtpmap:')}${keep('a=rtcp-fb:')}${keep('a=fmtp:')}${keep('a=extmap:')}`;
}
