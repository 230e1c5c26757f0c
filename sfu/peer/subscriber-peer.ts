import type { RTCDataChannel, RTCPeerConnection } from 'werift';
import { DataChannelSink } from '../session/data-channel-sink.js';
import type { DownTrack } from '../media/down-track.js';
import { InvalidSdpError, InvalidStateError } from '../errors.js';
import { DownlinkAllocator, type VideoTrackState } from '../bwe/downlink-allocator.js';
import { DownlinkEstimate } from '../bwe/downlink-estimate.js';
import { probeSucceeded } from '../bwe/prober.js';
import { videoSettingsFor } from '../bwe/video-settings.js';
import type { IceCandidateJson, VideoTrackSettings } from '../sfu-types.js';
import type { NegotiationQueue, Negotiator } from './negotiation-queue.js';
import { PeerBase, type PeerContext } from './peer-base.js';
import { checkSessionDescription } from './sdp-check.js';
import { midsMismatch } from './sdp-sections.js';
import type { PublishedTrack } from '../media/published-track.js';
import { SubscriberMediaLines, type OfferedLines } from './subscriber-media-lines.js';
import { answerIce, midOf, readAnsweredSection, sessionPart, splitDescription, transportLines, weriftAnswer } from './subscriber-sdp.js';

export interface SubscriberOffer {
  sdp: string;
  /** mid → published track id, for every sending m-line. */
  tracks: Record<string, string>;
}

export interface SubscriberPeerEvents {
  onOffer(offer: SubscriberOffer): void;
  onData(data: Buffer, reliable: boolean): void;
  /** The client stopped reading reliable data (wired by the data-channel flow control). */
  onDataStalled(message: string): void;
  /** The client did not answer an offer, even when sent again: the connection cannot follow the room. */
  onNegotiationFailed(message: string): void;
  /** A video track's layer or paused state changed (bandwidth, or the subscriber's settings). */
  onTrackState(trackId: string, state: VideoTrackState): void;
}

/** Data channels negotiated out of band with fixed ids (docs/PROTOCOL.md, "Data messages"). */
export const DATA_CHANNELS = {
  reliable: { id: 0, ordered: true },
  lossy: { id: 1, ordered: false, maxRetransmits: 0 },
} as const;

/**
 * Down tracks made in one turn of the event loop, by all subscribers together (each runs its connection's allocator
 * and its track's dynacast, both O(tracks): a publisher joining a full room adds 198); more wait for the next turns.
 */
const addsThisTurn = {
  limit: 16,
  taken: 0,
  /** Takes one from this turn's budget; false when it is spent. */
  take(): boolean {
    if (this.taken >= this.limit) return false;
    if (this.taken++ === 0) setImmediate(() => (this.taken = 0));
    return true;
  },
};

/** What werift negotiated (the data-channel m-line) and what every later offer copies from it. */
interface Transport {
  /** werift's session part (o=, BUNDLE group, ...). */
  session: string;
  /** The data-channel m-line's section, as werift printed it (announced address in its candidates). */
  application: string;
  applicationMid: string;
  /** c=, ICE and DTLS lines every media section repeats. */
  lines: string;
  /** The answer's BUNDLE ICE credentials, once werift has applied the first answer. */
  answerIce?: string;
}

interface OutstandingOffer {
  offer: SubscriberOffer;
  /** Its audio and video m-lines (after the data channels'). */
  media: OfferedLines;
  /** Whether werift's own offer (the data-channel m-line) is in it, to be answered through werift. */
  werift: boolean;
  timer: NodeJS.Timeout;
  resent: boolean;
}

/**
 * The connection a client receives on: the SFU offers whenever its set of down tracks changes, with at
 * most one offer outstanding (changes made meanwhile go into the next one), built in its turn of the SFU's
 * NegotiationQueue. An offer unanswered for `subscriberAnswerTimeoutMs` is sent once more, then the
 * connection is given up (onNegotiationFailed). Also carries both data channels.
 *
 * werift negotiates the data-channel m-line once (ICE, DTLS with its SRTP keys, SCTP); the audio and video
 * m-lines are the SFU's own (subscriber-sdp.ts): printed once each, never parsed back, their RTCP routed here
 * by SSRC. A renegotiation in a room of 100 costs what changed, not 200 m-lines of werift's SDP work.
 */
export class SubscriberPeer extends PeerBase implements Negotiator {
  readonly #downTracks = new Map<string, DownTrack>();
  readonly #channels: { reliable: RTCDataChannel; lossy: RTCDataChannel };
  readonly #dataSink: DataChannelSink;
  readonly #events: SubscriberPeerEvents;
  readonly #queue: NegotiationQueue;
  #outstanding?: OutstandingOffer;
  /** Changes not yet in an offer. */
  #dirty = false;
  /** The client asked for an ICE restart that no offer has carried yet. */
  #restartWanted = false;
  /** Subscriptions whose down track is made in a later turn (addTrack), in order. */
  readonly #pending = new Map<string, { track: PublishedTrack; streamId: string }>();
  /** Subscribers with subscriptions waiting, in the order they started waiting (#addWaiting). */
  static readonly #waiting = new Set<SubscriberPeer>();
  static #waitingTimer?: NodeJS.Immediate;
  /** Whether an offer was ever sent. */
  #offered = false;
  #transport?: Transport;
  readonly #lines: SubscriberMediaLines;
  /** The o= line's session version (RFC 3264 §8). */
  #version = 0;
  /** The connection's downlink estimate (send-side, from the subscriber's transport-wide feedback). */
  readonly #downlink: DownlinkEstimate;
  #observedAt = -Infinity;
  readonly #stopRtcp: () => void;
  readonly #allocator: DownlinkAllocator;

  constructor(pc: RTCPeerConnection, context: PeerContext, queue: NegotiationQueue, events: SubscriberPeerEvents) {
    super('subscriber', pc, context);
    this.#events = events;
    this.#queue = queue;
    const open = (label: keyof typeof DATA_CHANNELS) => {
      const channel = pc.createDataChannel(label, { negotiated: true, ...DATA_CHANNELS[label] });
      channel.onMessage.subscribe((message) => {
        if (!this.closed) events.onData(typeof message === 'string' ? Buffer.from(message) : message, label === 'reliable');
      });
      return channel;
    };
    this.#channels = { reliable: open('reliable'), lossy: open('lossy') };
    this.#dataSink = new DataChannelSink(this.#channels, context.options, context.metrics, (message) => {
      if (!this.closed) events.onDataStalled(message);
    });
    // BUNDLE: the data channels' DTLS transport carries every down track too.
    const dtls = pc.sctpTransport!.dtlsTransport;
    const allocate = context.options.bandwidthAllocation;
    this.#downlink = new DownlinkEstimate(dtls, () => this.#paddingSource(), {
      onEstimate: (bps) => {
        const now = performance.now();
        if (now - this.#observedAt >= 1000) {
          this.#observedAt = now;
          context.metrics.subscriberDownlinkBps.observe(bps);
        }
        if (allocate && !this.closed) this.#allocator.onEstimate(bps, now);
      },
      onFeedback: () => context.metrics.transportFeedback.inc(),
      onProbeResult: (target, result) => {
        context.metrics.probes.inc({ result: result === undefined ? 'none' : probeSucceeded(target, result) ? 'success' : 'failure' });
        if (allocate && !this.closed) this.#allocator.onProbeResult(target, result);
      },
    });
    this.#allocator = new DownlinkAllocator((downTrack, state) => {
      if (!this.closed) events.onTrackState(downTrack.track.id, state);
    }, allocate ? this.#downlink : undefined);
    this.#lines = new SubscriberMediaLines(dtls, this.#downlink.sent, context.metrics);
    this.#stopRtcp = dtls.onRtcp.subscribe((packet) => {
      if (!this.closed) this.#lines.route(packet);
    }).unSubscribe;
  }

  /** The subscriber's settings for a video track it receives (adaptive stream); false when it receives no such track. */
  configureVideo(trackId: string, settings: VideoTrackSettings): boolean {
    const downTrack = this.#downTracks.get(trackId);
    return downTrack !== undefined && this.#allocator.configure(downTrack, videoSettingsFor(downTrack.track.layers, settings));
  }

  /** The connection's downlink estimate (docs/BANDWIDTH.md), in bits per second; undefined while nothing limits it. */
  get downlinkEstimateBps(): number | undefined {
    return this.#downlink.bps;
  }

  /** The connection's bandwidth allocation (its video tracks' layers), for tests and monitoring. */
  get allocator(): DownlinkAllocator {
    return this.#allocator;
  }

  /**
   * A video down track whose RTX stream can carry a probe's padding: one forwarding now, else a paused one (when the
   * link paused every camera, only a probe can show it has room again).
   */
  #paddingSource(): DownTrack | undefined {
    let paused: DownTrack | undefined;
    for (const downTrack of this.#downTracks.values()) {
      if (downTrack.track.kind !== 'video' || downTrack.currentLayer < 0 || downTrack.line.rtxSsrc === undefined) continue;
      if (!downTrack.paused) return downTrack;
      paused ??= downTrack;
    }
    return paused;
  }

  get downTracks(): ReadonlyMap<string, DownTrack> {
    return this.#downTracks;
  }

  /** Audio and video m-lines of the connection, sending or not (stopped ones are reused). */
  get mediaLineCount(): number {
    return this.#lines.count;
  }

  /** Sends a data frame to this participant; false when the channel is not open or the frame was dropped (data-channel-sink.ts). */
  sendData(frame: Uint8Array, reliable: boolean): boolean {
    return !this.closed && this.#dataSink.send(frame, reliable) === 'sent';
  }

  /**
   * Starts sending `track` in the stream `streamId` (its publisher's opaque id: the msid, RFC 8830, groups a
   * publisher's tracks so browsers lip-sync them; identities never enter the SDP). The new m-line takes the
   * place of a stopped one of the same kind when there is one, so m-lines are reused.
   */
  addTrack(track: PublishedTrack, streamId: string): void {
    if (this.closed) throw new InvalidStateError('subscriber connection is closed');
    if (this.#downTracks.has(track.id) || this.#pending.has(track.id)) return;
    if (this.#pending.size === 0 && addsThisTurn.take()) {
      this.#add(track, streamId);
      this.negotiate();
      return;
    }
    // A joiner subscribing to a full room's 200 tracks, or a publisher's tracks going to 100 subscribers: a few
    // per turn (sockets and timers run in between).
    this.#pending.set(track.id, { track, streamId });
    SubscriberPeer.#waiting.add(this);
    SubscriberPeer.#waitingTimer ??= setImmediate(() => SubscriberPeer.#addWaiting());
  }

  /** Whether `trackId` is subscribed (its down track made, or about to be). */
  subscribes(trackId: string): boolean {
    return this.#downTracks.has(trackId) || this.#pending.has(trackId);
  }

  /** Down tracks, made or about to be. */
  get subscriptionCount(): number {
    return this.#downTracks.size + this.#pending.size;
  }

  #add(track: PublishedTrack, streamId: string): void {
    const downTrack = this.#lines.add(track, streamId);
    this.#downTracks.set(track.id, downTrack);
    this.#allocator.add(downTrack);
  }

  /** Makes every waiting subscription's down track now (in this connection's own turn). */
  #addPending(): void {
    for (const { track, streamId } of this.#pending.values()) if (!track.closed) this.#add(track, streamId);
    this.#pending.clear();
    SubscriberPeer.#waiting.delete(this);
  }

  /**
   * One turn of waiting subscriptions, for every subscriber together (a publisher's tracks going to 100
   * subscribers wait in 100 of them): at most this turn's budget, and at least one, so they always progress.
   */
  static #addWaiting(): void {
    SubscriberPeer.#waitingTimer = undefined;
    let progressed = false;
    for (const peer of SubscriberPeer.#waiting) {
      for (const [trackId, { track, streamId }] of peer.#pending) {
        if (!addsThisTurn.take() && progressed) break;
        progressed = true;
        peer.#pending.delete(trackId);
        if (!track.closed) peer.#add(track, streamId);
      }
      if (peer.#pending.size > 0) break;
      SubscriberPeer.#waiting.delete(peer);
      // A joiner's first offer (its data channels and the room's tracks) keeps its place ahead of renegotiations.
      peer.negotiate(!peer.#offered);
    }
    if (SubscriberPeer.#waiting.size > 0) SubscriberPeer.#waitingTimer = setImmediate(() => SubscriberPeer.#addWaiting());
  }

  removeTrack(trackId: string): void {
    if (this.#pending.delete(trackId)) return;
    const downTrack = this.#downTracks.get(trackId);
    if (!downTrack) return;
    this.#lines.remove(downTrack);
    this.#drop(downTrack);
    if (this.closed) return;
    this.negotiate();
  }

  /** Stops receiving everything (canSubscribe revoked): one renegotiation for all. */
  removeAllTracks(): void {
    this.#pending.clear();
    SubscriberPeer.#waiting.delete(this);
    if (this.#downTracks.size === 0) return;
    for (const downTrack of [...this.#downTracks.values()]) {
      this.#lines.remove(downTrack);
      this.#drop(downTrack);
    }
    if (!this.closed) this.negotiate();
  }

  /** Forgets a down track (its m-line already stopped): closed, out of the allocator. */
  #drop(downTrack: DownTrack): void {
    this.#downTracks.delete(downTrack.track.id);
    this.#allocator.remove(downTrack);
    downTrack.close();
  }

  /** Asks for an offer: in this connection's turn of the queue, or after the outstanding one is answered. */
  negotiate(first = false): void {
    if (this.closed) return;
    this.#dirty = true;
    if (!this.#outstanding) this.#queue.enqueue(this, first);
  }

  /**
   * The client's `iceRestart` (docs/PROTOCOL.md, "ICE restart"): the next offer, sent ahead of other renegotiations
   * (or right after the answer to the one outstanding), has new ICE credentials. Throws RateLimitedError past the
   * connection's allowance, InvalidStateError before the connection was first offered.
   */
  restartIce(): void {
    if (this.closed) throw new InvalidStateError('subscriber connection is closed');
    if (!this.#transport) throw new InvalidStateError('the subscriber connection has not been offered yet; nothing to restart');
    if (this.#restartWanted) return;
    this.allowIceRestart();
    this.#restartWanted = true;
    this.negotiate(true);
  }

  /** The queue's turn: builds and sends the offer (nothing when one is outstanding or nothing changed). */
  async runNegotiation(): Promise<void> {
    if (this.closed || this.#outstanding || !this.#dirty) return;
    // A few subscriptions still waiting for their down track (a publisher who just joined) go into this offer:
    // dropping the turn for them sent a subscriber to the back of the queue on every join, for as long as joins
    // kept coming. Many (a joiner's whole room) wait for #addWaiting, which asks again when they are all in.
    if (this.#pending.size <= addsThisTurn.limit) this.#addPending();
    if (this.#pending.size > 0) return;
    this.#dirty = false;
    const restart = this.#restartWanted;
    this.#restartWanted = false;
    try {
      const werift = this.#transport === undefined || restart;
      const transport = werift ? await this.#negotiateTransport(restart) : this.#transport!;
      if (this.closed) return;
      if (restart) this.iceRestarted();
      // Every m-line keeps its place (RFC 3264 §8): stopped ones stay, port 0, until a new track takes them.
      const media = this.#lines.offer(transport.lines);
      const bundle = [transport.applicationMid, ...media.bundle];
      const sdp = sessionPart(transport.session, ++this.#version, bundle) + transport.application + media.sections;
      const offer = { sdp, tracks: media.tracks };
      this.#offered = true;
      this.#outstanding = { offer, media, werift, timer: this.#answerTimer(), resent: false };
      this.#events.onOffer(offer);
    } catch (error) {
      if (this.closed) return;
      this.context.logger.error({ err: error }, 'subscriber offer failed');
      this.#events.onNegotiationFailed(`the server could not build a subscriber offer: ${(error as Error).message}`);
    }
  }

  /**
   * werift's offer: the data-channel m-line, whose ICE, DTLS and candidates every later offer repeats. Made once, and
   * again for an ICE restart (werift's ICE agent restarts in createOffer: new credentials, no pair until the answer's
   * checks nominate one; the DTLS session stays).
   */
  async #negotiateTransport(iceRestart: boolean): Promise<Transport> {
    const offer = await this.pc.createOffer({ iceRestart });
    this.holdCandidates = iceRestart;
    try {
      await this.pc.setLocalDescription(offer);
    } finally {
      this.holdCandidates = false;
    }
    const { session, sections } = splitDescription(this.localSdp());
    const application = sections.find((section) => section.startsWith('m=application'));
    const applicationMid = application && midOf(application);
    if (!application || !applicationMid || sections.length !== 1) throw new InvalidSdpError('werift offered other than one data-channel m-line');
    return (this.#transport = { session, application, applicationMid, lines: transportLines(application) });
  }

  async handleAnswer(sdp: string): Promise<void> {
    if (this.closed) throw new InvalidStateError('subscriber connection is closed');
    const outstanding = this.#outstanding;
    if (!outstanding) throw new InvalidStateError('no subscriber offer is outstanding');
    const transport = this.#transport!;
    let sections: string[];
    try {
      // In its own turn, checks included: a join's answers arrive together.
      sections = await this.#queue.exclusive(async () => {
        // An answer to an offer sent twice may come twice: only the first one applies.
        if (this.#outstanding !== outstanding) throw new InvalidStateError('no subscriber offer is outstanding');
        checkSessionDescription(sdp, 'the subscriber answer');
        const { session, sections } = splitDescription(sdp);
        // RFC 3264 §6: the answer has the offer's m-lines, in order, each with its mid.
        const offered = [transport.applicationMid, ...outstanding.media.lines.map((l) => l.mid)];
        const mismatch = midsMismatch(offered, sections.map(midOf));
        if (mismatch) throw new InvalidSdpError(`the subscriber answer does not answer the outstanding offer: ${mismatch}`);
        const ice = answerIce(session, readAnsweredSection(sections[0]));
        // A restart's transport is new (answerIce unset): its answer brings the client's new credentials.
        if (transport.answerIce !== undefined && ice !== transport.answerIce) {
          throw new InvalidSdpError('the subscriber answer changes the ICE credentials, and the offer it answers is no ICE restart');
        }
        if (outstanding.werift) {
          await this.pc.setRemoteDescription({ type: 'answer', sdp: weriftAnswer(session, sections[0], transport.applicationMid) });
          transport.answerIce = ice;
        }
        return sections;
      });
    } catch (error) {
      if (error instanceof InvalidStateError || error instanceof InvalidSdpError) throw error;
      if (this.closed) throw new InvalidStateError('subscriber connection is closed');
      throw new InvalidSdpError(`cannot apply the subscriber answer: ${(error as Error).message}`);
    }
    if (this.closed || this.#outstanding !== outstanding) return;
    clearTimeout(outstanding.timer);
    this.#outstanding = undefined;
    for (const downTrack of this.#lines.answered(outstanding.media, sections.slice(1))) {
      // RFC 3264 §6: the subscriber rejected it (a codec it cannot decode): the subscription ends.
      this.context.logger.warn({ trackId: downTrack.track.id, mid: downTrack.line.mid }, 'subscriber rejected an m-line; unsubscribed');
      this.#drop(downTrack);
    }
    if (this.#dirty) this.#queue.enqueue(this);
  }

  /** Candidates for any m-line go to the one BUNDLE transport: werift knows only the data-channel m-line. */
  override addIceCandidate(candidate: IceCandidateJson): Promise<void> {
    const mid = this.#transport?.applicationMid;
    return super.addIceCandidate(mid === undefined ? candidate : { ...candidate, sdpMid: mid, sdpMLineIndex: 0 });
  }

  override close(): void {
    if (this.closed) return;
    clearTimeout(this.#outstanding?.timer);
    this.#outstanding = undefined;
    this.#queue.remove(this);
    this.#pending.clear();
    SubscriberPeer.#waiting.delete(this);
    for (const downTrack of this.#downTracks.values()) downTrack.close();
    this.#downTracks.clear();
    this.#lines.clear();
    this.#downlink.close();
    this.#stopRtcp();
    this.#allocator.close();
    this.#dataSink.close();
    this.#channels.reliable.close();
    this.#channels.lossy.close();
    super.close();
  }

  /** No answer in time: the same offer once more (the first may have been lost or refused), then give up. */
  #answerTimer(): NodeJS.Timeout {
    const timeoutMs = this.context.options.subscriberAnswerTimeoutMs;
    return setTimeout(() => {
      const outstanding = this.#outstanding;
      if (this.closed || !outstanding) return;
      if (outstanding.resent) {
        this.#events.onNegotiationFailed(`no usable subscriberAnswer within ${timeoutMs} ms, twice`);
        return;
      }
      outstanding.resent = true;
      outstanding.timer = this.#answerTimer();
      this.context.logger.warn({ timeoutMs }, 'subscriber offer unanswered; sending it again');
      this.#events.onOffer(outstanding.offer);
    }, timeoutMs);
  }
}
