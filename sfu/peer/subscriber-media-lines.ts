import { randomBytes, randomUUID } from 'node:crypto';
import type { RTCDtlsTransport, RTCRtpCodecParameters, RtcpPacket } from 'werift';
import { DownTrack, type DownTrackLine } from '../media/down-track.js';
import type { PublishedTrack } from '../media/published-track.js';
import type { SfuMetrics } from '../sfu-metrics.js';
import { sfuCodecs } from './media-capabilities.js';
import type { SentPackets } from '../bwe/sent-packets.js';
import { readAnsweredSection, sendingSection, stoppedSection } from './subscriber-sdp.js';

/** One audio or video m-line of a subscriber connection, in m-line order. */
export interface MediaLine extends DownTrackLine {
  readonly kind: 'audio' | 'video';
  /**
   * Sending its down track; stopping (port 0 from the next offer on); free (stopped, and the stop answered or
   * never offered: a new track of the same kind may take its place, with a new mid).
   */
  state: 'sending' | 'stopping' | 'free';
  downTrack?: DownTrack;
  streamId: string;
  /** Whether an offer has carried it. */
  offered: boolean;
  /** Its media section, printed once when first offered (again after an ICE restart), and once more when stopped. */
  text?: string;
}

/** The audio and video part of one offer. */
export interface OfferedLines {
  /** The media sections, in m-line order. */
  sections: string;
  /** mid → published track id, for every sending m-line. */
  tracks: Record<string, string>;
  /** The mids of the sending m-lines (the BUNDLE group's, after the data channels'). */
  bundle: string[];
  lines: MediaLine[];
  /** Lines it offers stopped: free once it is answered. */
  stopped: MediaLine[];
}

/**
 * The audio and video m-lines of one subscriber connection (JSEP, RFC 8829 §5.2.2): which down track each sends,
 * their SSRCs, and their place. A stopped m-line keeps its place; once the stop is answered a new track of the same
 * kind takes it with a new mid, so offers do not grow with the room's history. Also routes the subscriber's RTCP to
 * the down track whose SSRC it names.
 */
export class SubscriberMediaLines {
  readonly #lines: MediaLine[] = [];
  /** SSRC (primary and RTX) → the down track sent with it. */
  readonly #bySsrc = new Map<number, DownTrack>();
  #nextMid = 1;
  /** RFC 7022: one random CNAME for the connection. */
  readonly #cname = randomUUID();
  /** The transport lines the sending sections were printed with. */
  #printedWith?: string;

  constructor(
    private readonly dtls: RTCDtlsTransport,
    private readonly sent: SentPackets,
    private readonly metrics: SfuMetrics,
  ) {}

  get count(): number {
    return this.#lines.length;
  }

  /** A down track for `track` on a new m-line, or on a free one of its kind. Throws (leaving nothing) for a closed track. */
  add(track: PublishedTrack, streamId: string): DownTrack {
    const codecs = codecsFor(track);
    const ssrc = this.#newSsrc();
    const rtxSsrc = codecs.length > 1 ? this.#newSsrc() : undefined;
    const line: MediaLine = {
      kind: track.kind,
      mid: String(this.#nextMid++),
      ssrc,
      rtxSsrc,
      codecs,
      streamId,
      dtlsTransport: this.dtls,
      sent: this.sent,
      state: 'sending',
      offered: false,
    };
    const downTrack = new DownTrack(track, line, this.metrics);
    line.downTrack = downTrack;
    const free = this.#lines.findIndex((l) => l.state === 'free' && l.kind === track.kind);
    if (free >= 0) this.#lines[free] = line;
    else this.#lines.push(line);
    this.#bySsrc.set(ssrc, downTrack);
    if (rtxSsrc !== undefined) this.#bySsrc.set(rtxSsrc, downTrack);
    return downTrack;
  }

  /** Stops `downTrack`'s m-line (the caller closes the down track). */
  remove(downTrack: DownTrack): void {
    const line = this.#lines.find((l) => l.downTrack === downTrack);
    if (!line) return;
    // Never offered: nobody knows it, so it is free at once (and gone, when nothing offered comes after it).
    this.#stop(line, line.offered ? 'stopping' : 'free');
    while (this.#lines.at(-1)?.offered === false && this.#lines.at(-1)?.state === 'free') this.#lines.pop();
  }

  /** The next offer's media sections; `transport` is the ICE and DTLS lines every section repeats. */
  offer(transport: string): OfferedLines {
    const lines = this.#lines.slice();
    const offered: OfferedLines = { sections: '', tracks: {}, bundle: [], lines, stopped: [] };
    if (transport !== this.#printedWith) {
      // An ICE restart changed the credentials every sending section repeats (stopped ones carry none).
      for (const line of lines) if (line.state === 'sending') line.text = undefined;
      this.#printedWith = transport;
    }
    for (const line of lines) {
      line.offered = true;
      if (line.state === 'sending') {
        const trackId = line.downTrack!.track.id;
        offered.tracks[line.mid] = trackId;
        offered.bundle.push(line.mid);
        line.text ??= sendingSection({ ...line, trackId, cname: this.#cname }, transport);
      } else {
        offered.stopped.push(line);
      }
      offered.sections += line.text;
    }
    return offered;
  }

  /**
   * The answer to `offered` (its media sections, in order): stops answered free their m-lines; down tracks it
   * accepts for the first time learn their extension ids and payload types. Returns the down tracks it rejected
   * (port 0, RFC 3264 §6): their m-lines are stopped (JSEP §5.3.1), and the caller ends those subscriptions.
   */
  answered(offered: OfferedLines, sections: readonly string[]): DownTrack[] {
    for (const line of offered.stopped) if (line.state === 'stopping') line.state = 'free';
    const rejected: DownTrack[] = [];
    offered.lines.forEach((line, i) => {
      const downTrack = line.downTrack;
      // Only m-lines answered for the first time are read: an m-line's codec and extension ids never change once
      // answered (the offerer chose them).
      if (!downTrack || downTrack.isNegotiated || line.state !== 'sending') return;
      const section = readAnsweredSection(sections[i]);
      if (section.port === 0) {
        this.#stop(line, 'free');
        rejected.push(downTrack);
      } else {
        downTrack.negotiated(section.extensions, section.payloadTypes);
      }
    });
    return rejected;
  }

  /** RTCP from the subscriber, to the down track whose SSRC it is about (RFC 3550 §6.4.2, RFC 4585 §6.1). */
  route(packet: RtcpPacket): void {
    const p = packet as { reports?: { ssrc: number }[]; feedback?: { mediaSourceSsrc?: number; mediaSsrc?: number; fir?: { ssrc: number }[] } };
    const ssrcs: number[] = [];
    if (p.reports) for (const report of p.reports) ssrcs.push(report.ssrc);
    if (p.feedback) {
      const { mediaSourceSsrc, mediaSsrc, fir } = p.feedback;
      if (mediaSourceSsrc !== undefined) ssrcs.push(mediaSourceSsrc);
      if (mediaSsrc !== undefined) ssrcs.push(mediaSsrc);
      if (fir) for (const entry of fir) ssrcs.push(entry.ssrc);
    }
    let last: DownTrack | undefined;
    for (const ssrc of ssrcs) {
      const downTrack = this.#bySsrc.get(ssrc);
      // A packet naming one track twice (its primary and RTX SSRCs) reaches it once.
      if (!downTrack || downTrack === last) continue;
      last = downTrack;
      downTrack.handleRtcp(packet);
    }
  }

  clear(): void {
    this.#lines.length = 0;
    this.#bySsrc.clear();
  }

  /** An m-line that sends nothing any more: port 0 from the next offer on. */
  #stop(line: MediaLine, state: 'stopping' | 'free'): void {
    const downTrack = line.downTrack;
    if (downTrack) {
      this.#bySsrc.delete(line.ssrc);
      if (line.rtxSsrc !== undefined) this.#bySsrc.delete(line.rtxSsrc);
    }
    line.downTrack = undefined;
    line.state = state;
    line.text = stoppedSection(line.kind, line.mid, line.codecs[0]);
  }

  /** A random SSRC (RFC 3550 §8.1) not yet used on this connection. */
  #newSsrc(): number {
    for (;;) {
      const ssrc = randomBytes(4).readUInt32BE(0);
      if (ssrc !== 0 && !this.#bySsrc.has(ssrc)) return ssrc;
    }
  }
}

/** Subscribers receive the publisher's codec (and its RTX), nothing else; it is known once the publish offer is answered. */
function codecsFor(track: PublishedTrack): RTCRtpCodecParameters[] {
  const codecs = sfuCodecs()[track.kind];
  const mime = track.mimeType?.toLowerCase();
  const primary = codecs.find((c) => c.mimeType.toLowerCase() === mime) ?? codecs[0];
  const rtx = codecs.find((c) => /\/rtx$/i.test(c.mimeType) && c.parameters === `apt=${primary.payloadType}`);
  return rtx ? [primary, rtx] : [primary];
}
