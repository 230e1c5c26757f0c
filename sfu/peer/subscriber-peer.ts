import type { RTCDataChannel, RTCPeerConnection, RTCRtpTransceiver } from 'werift';
import { DataChannelSink } from '../session/data-channel-sink.js';
import { DownTrack } from '../media/down-track.js';
import { InvalidSdpError, InvalidStateError } from '../errors.js';
import { DownlinkAllocator, type VideoTrackState } from '../bwe/downlink-allocator.js';
import { watchRemb } from '../bwe/remb.js';
import { videoSettingsFor } from '../bwe/video-settings.js';
import type { VideoTrackSettings } from '../sfu-types.js';
import { subscriberCodecs } from './media-capabilities.js';
import type { NegotiationQueue, Negotiator } from './negotiation-queue.js';
import { PeerBase, type PeerContext } from './peer-base.js';
import { checkSessionDescription } from './sdp-check.js';
import { answerMismatch, mediaSections } from './sdp-sections.js';
import type { PublishedTrack } from '../media/published-track.js';
import { releaseStoppedTransceiver } from './werift-peer-internals.js';

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
 * Down tracks made in one turn of the event loop, by all subscribers together (each is ~1 ms of werift and
 * buffers in a full room); more wait for the next turns.
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

interface OutstandingOffer {
  offer: SubscriberOffer;
  /** The mid of each m-line, in order: the answer must have the same (RFC 3264 §6). */
  mids: (string | undefined)[];
  timer: NodeJS.Timeout;
  resent: boolean;
}

/**
 * The connection a client receives on: the SFU offers whenever its set of down tracks changes, with at
 * most one offer outstanding (changes made meanwhile go into the next one), built in its turn of the SFU's
 * NegotiationQueue. An offer unanswered for `subscriberAnswerTimeoutMs` is sent once more, then the
 * connection is given up (onNegotiationFailed). Also carries both data channels.
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
  /** Subscriptions whose down track is made in a later turn (addTrack), in order. */
  readonly #pending = new Map<string, { track: PublishedTrack; streamId: string }>();
  /** Subscribers with subscriptions waiting, in the order they started waiting (#addWaiting). */
  static readonly #waiting = new Set<SubscriberPeer>();
  static #waitingTimer?: NodeJS.Immediate;
  /** Whether an offer was ever sent. */
  #offered = false;
  /** Transceivers of removed down tracks, stopped in the next offer's turn (removeTrack). */
  readonly #removed: RTCRtpTransceiver[] = [];
  /** Down tracks whose m-line an answer has negotiated. */
  readonly #negotiated = new WeakSet<DownTrack>();
  /** The browser's latest downlink estimate (REMB), in bits per second; undefined before its first report. */
  #downlinkBps: number | undefined;
  readonly #stopRemb: () => void;
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
    this.#allocator = new DownlinkAllocator((downTrack, state) => {
      if (!this.closed) events.onTrackState(downTrack.track.id, state);
    });
    // BUNDLE: the data channels' DTLS transport carries every down track too.
    this.#stopRemb = watchRemb(pc.sctpTransport!.dtlsTransport, (bps) => {
      this.#downlinkBps = bps;
      context.metrics.subscriberDownlinkBps.observe(bps);
      if (context.options.bandwidthAllocation) this.#allocator.onEstimate(bps);
    });
  }

  /** The subscriber's settings for a video track it receives (adaptive stream); false when it receives no such track. */
  configureVideo(trackId: string, settings: VideoTrackSettings): boolean {
    const downTrack = this.#downTracks.get(trackId);
    return downTrack !== undefined && this.#allocator.configure(downTrack, videoSettingsFor(downTrack.track.layers, settings));
  }

  /** The browser's latest downlink estimate (REMB, docs/BANDWIDTH.md), in bits per second. */
  get downlinkEstimateBps(): number | undefined {
    return this.#downlinkBps;
  }

  get downTracks(): ReadonlyMap<string, DownTrack> {
    return this.#downTracks;
  }

  /** Sends a data frame to this participant; false when the channel is not open or the frame was dropped (data-channel-sink.ts). */
  sendData(frame: Uint8Array, reliable: boolean): boolean {
    return !this.closed && this.#dataSink.send(frame, reliable) === 'sent';
  }

  /**
   * Starts sending `track` in the stream `streamId` (its publisher's opaque id: the msid, RFC 8830, groups a
   * publisher's tracks so browsers lip-sync them; identities never enter the SDP). werift puts the new
   * m-line in the place of a stopped one of the same kind when there is one, so m-lines are reused.
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
    this.#stopRemoved(); // so that werift can give their m-lines to the new track
    const transceiver = this.pc.addTransceiver(track.kind, { direction: 'sendonly' });
    transceiver.sender.streamId = streamId;
    this.#preferCodec(transceiver, track);
    const downTrack = new DownTrack(track, transceiver, this.context.metrics);
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
    this.#downTracks.delete(trackId);
    this.#allocator.remove(downTrack);
    downTrack.close();
    if (this.closed) return;
    // Nothing is sent on it any more (the down track is closed); werift stops it in this connection's next
    // offer or addTrack. A participant who leaves a full room removes its tracks from every subscriber in one
    // turn, and werift's stop is O(m-lines) per transceiver (its RTP router scans every SSRC).
    this.#removed.push(downTrack.transceiver);
    this.negotiate();
  }

  #stopRemoved(): void {
    for (const transceiver of this.#removed.splice(0)) {
      transceiver.stop();
      // werift would keep it reachable from the connection's DTLS transport, with the stack that stopped it.
      releaseStoppedTransceiver(transceiver);
    }
  }

  /** Asks for an offer: in this connection's turn of the queue, or after the outstanding one is answered. */
  negotiate(first = false): void {
    if (this.closed) return;
    this.#dirty = true;
    if (!this.#outstanding) this.#queue.enqueue(this, first);
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
    try {
      this.#stopRemoved();
      await this.pc.setLocalDescription(await this.pc.createOffer());
      if (this.closed) return;
      const tracks: Record<string, string> = {};
      for (const [trackId, downTrack] of this.#downTracks) {
        if (downTrack.transceiver.mid) tracks[downTrack.transceiver.mid] = trackId;
      }
      const sdp = this.localSdp();
      const offer = { sdp, tracks };
      this.#offered = true;
      this.#outstanding = { offer, mids: mediaSections(sdp).map((s) => s.mid), timer: this.#answerTimer(), resent: false };
      this.#events.onOffer(offer);
    } catch (error) {
      if (this.closed) return;
      this.context.logger.error({ err: error }, 'subscriber offer failed');
      this.#events.onNegotiationFailed(`the server could not build a subscriber offer: ${(error as Error).message}`);
    }
  }

  async handleAnswer(sdp: string): Promise<void> {
    if (this.closed) throw new InvalidStateError('subscriber connection is closed');
    const outstanding = this.#outstanding;
    if (!outstanding) throw new InvalidStateError('no subscriber offer is outstanding');
    try {
      // In its own turn, checks included: reading and applying a 200-m-line answer is tens of ms, and a join's
      // answers arrive together (the checks alone, done as they arrive, stalled the event loop ~200 ms at 60).
      await this.#queue.exclusive(async () => {
        // An answer to an offer sent twice may come twice: only the first one applies.
        if (this.#outstanding !== outstanding) throw new InvalidStateError('no subscriber offer is outstanding');
        checkSessionDescription(sdp, 'the subscriber answer');
        const mismatch = answerMismatch(outstanding.mids, sdp);
        if (mismatch) throw new InvalidSdpError(`the subscriber answer does not answer the outstanding offer: ${mismatch}`);
        await this.pc.setRemoteDescription({ type: 'answer', sdp });
      });
    } catch (error) {
      if (error instanceof InvalidStateError || error instanceof InvalidSdpError) throw error;
      if (this.closed) throw new InvalidStateError('subscriber connection is closed');
      throw new InvalidSdpError(`cannot apply the subscriber answer: ${(error as Error).message}`);
    }
    if (this.closed || this.#outstanding !== outstanding) return;
    clearTimeout(outstanding.timer);
    this.#outstanding = undefined;
    // Only m-lines this answer negotiated for the first time: an m-line's codecs and extension ids never change
    // once answered (the offerer chose them), and calling every down track on every answer is O(room) per answer.
    for (const downTrack of this.#downTracks.values()) {
      if (!downTrack.transceiver.mid || this.#negotiated.has(downTrack)) continue;
      this.#negotiated.add(downTrack);
      downTrack.negotiated(PeerBase.extensionIds(downTrack.transceiver));
    }
    if (this.#dirty) this.#queue.enqueue(this);
  }

  override close(): void {
    if (this.closed) return;
    clearTimeout(this.#outstanding?.timer);
    this.#outstanding = undefined;
    this.#queue.remove(this);
    this.#removed.length = 0; // closing the connection stops them
    this.#pending.clear();
    SubscriberPeer.#waiting.delete(this);
    for (const downTrack of this.#downTracks.values()) downTrack.close();
    this.#downTracks.clear();
    this.#stopRemb();
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

  /** Subscribers receive the publisher's codec (and its RTX), nothing else. */
  #preferCodec(transceiver: RTCRtpTransceiver, track: PublishedTrack): void {
    const mime = track.mimeType?.toLowerCase();
    if (!mime) return;
    const codecs = subscriberCodecs()[track.kind];
    const primary = codecs.find((c) => c.mimeType.toLowerCase() === mime);
    if (!primary) return;
    const rtx = codecs.find((c) => /\/rtx$/i.test(c.mimeType) && c.parameters === `apt=${primary.payloadType}`);
    transceiver.setCodecPreferences(rtx ? [primary, rtx] : [primary]);
  }
}
