import type { RTCDataChannel, RTCPeerConnection, RTCRtpTransceiver } from 'werift';
import { DownTrack } from './down-track.js';
import { InvalidSdpError, InvalidStateError } from './errors.js';
import { sfuCodecs } from './media-capabilities.js';
import { PeerBase, type PeerContext } from './peer-base.js';
import { checkSessionDescription } from './sdp-check.js';
import type { PublishedTrack } from './published-track.js';

export interface SubscriberOffer {
  sdp: string;
  /** mid → published track id, for every sending m-line. */
  tracks: Record<string, string>;
}

export interface SubscriberPeerEvents {
  onOffer(offer: SubscriberOffer): void;
  onData(data: Buffer, reliable: boolean): void;
}

/** Data channels negotiated out of band with fixed ids (docs/PROTOCOL.md, "Data messages"). */
export const DATA_CHANNELS = {
  reliable: { id: 0, ordered: true },
  lossy: { id: 1, ordered: false, maxRetransmits: 0 },
} as const;

/**
 * The connection a client receives on: the SFU offers whenever its set of down tracks changes, with at
 * most one offer outstanding (changes made meanwhile go into the next one). Also carries both data channels.
 */
export class SubscriberPeer extends PeerBase {
  readonly #downTracks = new Map<string, DownTrack>();
  readonly #channels: { reliable: RTCDataChannel; lossy: RTCDataChannel };
  readonly #events: SubscriberPeerEvents;
  #offerOutstanding = false;
  #renegotiate = false;
  #negotiating = false;

  constructor(pc: RTCPeerConnection, context: PeerContext, events: SubscriberPeerEvents) {
    super('subscriber', pc, context);
    this.#events = events;
    const open = (label: keyof typeof DATA_CHANNELS) => {
      const channel = pc.createDataChannel(label, { negotiated: true, ...DATA_CHANNELS[label] });
      channel.onMessage.subscribe((message) => {
        if (!this.closed) events.onData(typeof message === 'string' ? Buffer.from(message) : message, label === 'reliable');
      });
      return channel;
    };
    this.#channels = { reliable: open('reliable'), lossy: open('lossy') };
  }

  get downTracks(): ReadonlyMap<string, DownTrack> {
    return this.#downTracks;
  }

  /** Sends a data frame to this participant; false when the channel is not open. */
  sendData(frame: Uint8Array, reliable: boolean): boolean {
    const channel = reliable ? this.#channels.reliable : this.#channels.lossy;
    if (this.closed || channel.readyState !== 'open') return false;
    channel.send(Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength));
    return true;
  }

  addTrack(track: PublishedTrack): void {
    if (this.closed) throw new InvalidStateError('subscriber connection is closed');
    if (this.#downTracks.has(track.id)) return;
    const transceiver = this.pc.addTransceiver(track.kind, { direction: 'sendonly' });
    // One stream per publisher (msid, RFC 8830): browsers lip-sync the audio and video of a stream.
    transceiver.sender.streamId = track.publisherIdentity;
    this.#preferCodec(transceiver, track);
    this.#downTracks.set(track.id, new DownTrack(track, transceiver, this.context.metrics));
    this.negotiate();
  }

  removeTrack(trackId: string): void {
    const downTrack = this.#downTracks.get(trackId);
    if (!downTrack) return;
    this.#downTracks.delete(trackId);
    downTrack.close();
    if (this.closed) return;
    downTrack.transceiver.stop();
    this.negotiate();
  }

  /** Starts an offer now, or after the outstanding one is answered. */
  negotiate(): void {
    if (this.closed) return;
    if (this.#offerOutstanding || this.#negotiating) {
      this.#renegotiate = true;
      return;
    }
    this.#negotiating = true;
    // Let changes made in the same tick (a late joiner subscribing to many tracks) share one offer.
    setImmediate(() => void this.#sendOffer());
  }

  async handleAnswer(sdp: string): Promise<void> {
    if (this.closed) throw new InvalidStateError('subscriber connection is closed');
    if (!this.#offerOutstanding) throw new InvalidStateError('no subscriber offer is outstanding');
    checkSessionDescription(sdp, 'the subscriber answer');
    try {
      await this.pc.setRemoteDescription({ type: 'answer', sdp });
    } catch (error) {
      throw new InvalidSdpError(`cannot apply the subscriber answer: ${(error as Error).message}`);
    }
    this.#offerOutstanding = false;
    for (const downTrack of this.#downTracks.values()) {
      if (downTrack.transceiver.mid) downTrack.negotiated(PeerBase.extensionIds(downTrack.transceiver));
    }
    if (this.#renegotiate) {
      this.#renegotiate = false;
      this.negotiate();
    }
  }

  override close(): void {
    if (this.closed) return;
    for (const downTrack of this.#downTracks.values()) downTrack.close();
    this.#downTracks.clear();
    this.#channels.reliable.close();
    this.#channels.lossy.close();
    super.close();
  }

  async #sendOffer(): Promise<void> {
    try {
      if (this.closed) return;
      this.#renegotiate = false;
      await this.pc.setLocalDescription(await this.pc.createOffer());
      if (this.closed) return;
      const tracks: Record<string, string> = {};
      for (const [trackId, downTrack] of this.#downTracks) {
        if (downTrack.transceiver.mid) tracks[downTrack.transceiver.mid] = trackId;
      }
      this.#offerOutstanding = true;
      this.#events.onOffer({ sdp: this.localSdp(), tracks });
    } catch (error) {
      if (!this.closed) this.context.logger.error({ err: error }, 'subscriber offer failed');
    } finally {
      this.#negotiating = false;
    }
  }

  /** Subscribers receive the publisher's codec (and its RTX), nothing else. */
  #preferCodec(transceiver: RTCRtpTransceiver, track: PublishedTrack): void {
    const mime = track.mimeType?.toLowerCase();
    if (!mime) return;
    const codecs = sfuCodecs()[track.kind];
    const primary = codecs.find((c) => c.mimeType.toLowerCase() === mime);
    if (!primary) return;
    const rtx = codecs.find((c) => /\/rtx$/i.test(c.mimeType) && c.parameters === `apt=${primary.payloadType}`);
    transceiver.setCodecPreferences(rtx ? [primary, rtx] : [primary]);
  }
}
