import type { ClientMessage } from '../../signaling/messages.js';
import { DataChannels, type DataChannelsHooks } from './data-channels.js';
import { PeerTransport, type PeerTransportHooks } from './peer-transport.js';

export interface SubscriberHooks extends PeerTransportHooks, DataChannelsHooks {
  send(msg: ClientMessage): boolean;
  /** The m-line `mid` now delivers published track `trackId`. */
  trackStarted(trackId: string, track: MediaStreamTrack, stream: MediaStream): void;
  /** The m-line that delivered `trackId` stopped or now carries another track. */
  trackEnded(trackId: string): void;
  negotiationFailed(err: unknown): void;
}

/**
 * The downstream peer connection (the server offers). Created at join so the data channels exist before
 * anyone publishes. Maps each receiving m-line to the published track it carries, using the
 * `subscriberOffer.tracks` table (mid → trackId).
 */
export class Subscriber {
  readonly transport: PeerTransport;
  readonly data: DataChannels;
  /** From the latest offer: mid → trackId. */
  private midToTrackId = new Map<string, string>();
  /** The last offer answered: the same offer again is a copy the server sent while the answer was on its way. */
  private answeredOffer: string | undefined;
  /** What has been reported through `trackStarted`: mid → trackId. */
  private readonly started = new Map<string, string>();
  private readonly streams = new Map<string, MediaStream>();
  private closed = false;

  constructor(config: RTCConfiguration, private readonly hooks: SubscriberHooks) {
    // The server offers on this connection: a restart is asked for, and comes as its next offer.
    this.transport = new PeerTransport('subscriber', config, hooks, () => this.hooks.send({ type: 'iceRestart', target: 'subscriber' }));
    this.data = new DataChannels(this.transport.pc, hooks);
    this.transport.pc.ontrack = (event) => {
      const mid = event.transceiver.mid;
      if (mid === null) return;
      this.streams.set(mid, event.streams[0] ?? new MediaStream([event.track]));
      this.start(mid, event.transceiver.receiver.track);
    };
  }

  /** Applies a `subscriberOffer` and sends the `subscriberAnswer`. */
  handleOffer(sdp: string, tracks: Record<string, string>): Promise<void> {
    return this.transport.negotiate(async () => {
      // The server sends an unanswered offer again after a while; after a resume both copies may arrive, and the
      // answer to the first one has already settled it (a second answer would find no offer outstanding).
      if (this.closed || sdp === this.answeredOffer) return;
      // Before setRemoteDescription: ontrack fires while it runs and must find the new mapping.
      this.midToTrackId = new Map(Object.entries(tracks));
      const pc = this.transport.pc;
      try {
        await this.transport.setRemoteDescription({ type: 'offer', sdp });
        const answer = await pc.createAnswer();
        await pc.setLocalDescription(answer);
      } catch (err) {
        if (!this.closed) this.hooks.negotiationFailed(err);
        return;
      }
      if (this.closed || pc.localDescription === null) return;
      this.hooks.send({ type: 'subscriberAnswer', sdp: pc.localDescription.sdp });
      this.answeredOffer = sdp;
      this.reconcile();
    });
  }

  /** The server refused the last answer (its offer stays outstanding): the same offer sent again must be answered again. */
  answerRefused(): void {
    this.answeredOffer = undefined;
  }

  /** The published track the receiving m-line `mid` delivers now. */
  trackIdForMid(mid: string): string | undefined {
    return this.started.get(mid);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.transport.pc.ontrack = null;
    this.data.close();
    this.transport.close();
    this.started.clear();
    this.streams.clear();
  }

  /**
   * After each round: m-lines that stopped receiving or now carry another track end their old track; a
   * receiving m-line whose track changed without an `ontrack` (the direction stayed the same) starts the new one.
   */
  private reconcile(): void {
    const seen = new Set<string>();
    for (const transceiver of this.transport.pc.getTransceivers()) {
      const mid = transceiver.mid;
      if (mid === null) continue;
      seen.add(mid);
      const receiving = transceiver.currentDirection === 'recvonly' || transceiver.currentDirection === 'sendrecv';
      const trackId = receiving ? this.midToTrackId.get(mid) : undefined;
      const previous = this.started.get(mid);
      if (previous !== undefined && previous !== trackId) {
        this.started.delete(mid);
        this.hooks.trackEnded(previous);
      }
      if (trackId !== undefined) this.start(mid, transceiver.receiver.track);
    }
    for (const [mid, trackId] of this.started) {
      if (seen.has(mid)) continue;
      this.started.delete(mid);
      this.hooks.trackEnded(trackId);
    }
  }

  private start(mid: string, track: MediaStreamTrack): void {
    const trackId = this.midToTrackId.get(mid);
    if (trackId === undefined) return;
    const previous = this.started.get(mid);
    if (previous === trackId) return;
    if (previous !== undefined) this.hooks.trackEnded(previous);
    this.started.set(mid, trackId);
    let stream = this.streams.get(mid);
    if (stream === undefined || !stream.getTracks().includes(track)) {
      stream = new MediaStream([track]);
      this.streams.set(mid, stream);
    }
    this.hooks.trackStarted(trackId, track, stream);
  }
}
