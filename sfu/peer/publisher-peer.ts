import type { RTCPeerConnection, RTCRtpTransceiver } from 'werift';
import { InvalidSdpError, InvalidStateError, LimitExceededError } from '../errors.js';
import { iceCredentials, sendingMediaSections } from './sdp-sections.js';
import { PeerBase, type PeerContext } from './peer-base.js';
import { PublishedTrack } from '../media/published-track.js';
import type { PublishLayers, SimulcastLayerDescription, TrackDescription, TrackKind } from '../sfu-types.js';
import { randomId } from '../ids.js';
import { checkSessionDescription } from './sdp-check.js';
import { remoteCodecOrder, sortByRemoteOrder } from './codec-order.js';
import { sfuCodecs } from './media-capabilities.js';
import { releaseStoppedTransceiver } from './werift-peer-internals.js';
import { PublisherClock } from '../media/rtp/publisher-clock.js';
import { datagramArrivalUs } from './datagram-arrivals.js';
import { attachTransportCc, type TransportCcFeedback } from '../media/transport-cc/attach.js';
import { PublisherNack } from '../media/rtp/publisher-nack.js';

export interface PublisherHooks {
  /** Dynacast: the layers of a simulcast track the publisher should send changed. */
  onPublishLayers(update: PublishLayers): void;
  /** The publisher's tracks' priority in subscribers' bandwidth allocation (1: the teacher's). */
  trackPriority: number;
}

export interface PublishResult {
  sdp: string;
  added: PublishedTrack[];
  removed: PublishedTrack[];
}

/** The connection a client publishes on: the client offers, the SFU answers (docs/PROTOCOL.md, "Publishing"). */
export class PublisherPeer extends PeerBase {
  readonly #tracksByMid = new Map<string, PublishedTrack>();
  /** Our NACK generator for each published video track, by mid (replaces werift's; see sfu/media/rtp/publisher-nack.ts). */
  readonly #nackByMid = new Map<string, PublisherNack>();
  readonly #identity: string;
  /** The publisher's wallclock, shared by its tracks so their Sender Reports map through one offset (lip sync). */
  readonly #clock = new PublisherClock();
  #busy = false;
  /** The ICE credentials of the last offer applied: an offer with others restarts ICE. */
  #remoteIce?: string;

  readonly #transportCc: TransportCcFeedback;
  readonly #hooks: PublisherHooks;

  constructor(pc: RTCPeerConnection, context: PeerContext, identity: string, hooks: PublisherHooks) {
    super('publisher', pc, context);
    this.#identity = identity;
    this.#hooks = hooks;
    // werift's own transport-cc feedback is malformed and collapses browsers' send rate; ours replaces it.
    this.#transportCc = attachTransportCc(pc, { nowUs: datagramArrivalUs });
  }

  get tracks(): IterableIterator<PublishedTrack> {
    return this.#tracksByMid.values();
  }

  /**
   * Applies an offer; returns the answer and which tracks started or stopped being published. An offer with new ICE
   * credentials restarts ICE (RFC 8839 §4.4.1.1.1; docs/PROTOCOL.md, "ICE restart"): the answer has new ones too, and
   * the DTLS session goes on over the pair the new checks nominate.
   */
  async handleOffer(sdp: string, descriptions: readonly TrackDescription[]): Promise<PublishResult> {
    if (this.closed) throw new InvalidStateError('publisher connection is closed');
    if (this.#busy) throw new InvalidStateError('a publish offer is already being processed');
    checkSessionDescription(sdp, 'the publish offer');
    const sending = sendingMediaSections(sdp).length;
    const maxTracks = this.context.options.maxTracksPerParticipant;
    if (sending > maxTracks) throw new LimitExceededError(`the offer sends ${sending} tracks; a participant may publish at most ${maxTracks}`);
    const ice = iceCredentials(sdp);
    const restart = this.#remoteIce !== undefined && ice !== this.#remoteIce;
    if (restart) this.allowIceRestart();
    this.#busy = true;
    try {
      try {
        this.holdCandidates = restart;
        await this.pc.setRemoteDescription({ type: 'offer', sdp });
        this.#followPublisherCodecOrder(sdp);
        await this.pc.setLocalDescription(await this.pc.createAnswer());
      } catch (error) {
        if (this.closed) throw new InvalidStateError('publisher connection is closed');
        throw new InvalidSdpError(`cannot apply the publish offer: ${(error as Error).message}`);
      } finally {
        this.holdCandidates = false;
      }
      this.#remoteIce = ice;
      if (restart) this.iceRestarted();
      const byMid = new Map(descriptions.map((d) => [d.mid, d]));
      const added: PublishedTrack[] = [];
      const receiving = new Set<string>();
      for (const transceiver of this.pc.getTransceivers()) {
        const mid = transceiver.mid;
        // An m-line the client stopped: werift keeps it subscribed to the DTLS transport (werift-peer-internals.ts).
        if (transceiver.stopped) releaseStoppedTransceiver(transceiver);
        if (!mid || !this.#isReceiving(transceiver)) continue;
        receiving.add(mid);
        if (this.#tracksByMid.has(mid)) continue;
        const track = this.#createTrack(transceiver, mid, byMid.get(mid));
        this.#tracksByMid.set(mid, track);
        added.push(track);
      }
      const removed: PublishedTrack[] = [];
      for (const [mid, track] of this.#tracksByMid) {
        if (receiving.has(mid)) continue;
        this.#tracksByMid.delete(mid);
        this.#closeNack(mid);
        removed.push(track);
      }
      return { sdp: this.localSdp(), added, removed };
    } finally {
      this.#busy = false;
    }
  }

  /** Forgets a track the participant unpublished without renegotiating; returns it, or undefined. */
  removeTrack(trackId: string): PublishedTrack | undefined {
    for (const [mid, track] of this.#tracksByMid) {
      if (track.id !== trackId) continue;
      this.#tracksByMid.delete(mid);
      this.#closeNack(mid);
      return track;
    }
    return undefined;
  }

  override close(): void {
    if (this.closed) return;
    this.#transportCc.close();
    for (const mid of [...this.#nackByMid.keys()]) this.#closeNack(mid);
    this.#tracksByMid.clear();
    super.close();
  }

  #closeNack(mid: string): void {
    this.#nackByMid.get(mid)?.close();
    this.#nackByMid.delete(mid);
  }

  #followPublisherCodecOrder(sdp: string): void {
    const order = remoteCodecOrder(sdp);
    for (const transceiver of this.pc.getTransceivers()) {
      const names = transceiver.mid ? order.get(transceiver.mid) : undefined;
      if (names && names.length > 0) transceiver.setCodecPreferences(sortByRemoteOrder(sfuCodecs()[transceiver.kind as TrackKind], names));
    }
  }

  #isReceiving(transceiver: RTCRtpTransceiver): boolean {
    if (transceiver.stopped || transceiver.stopping) return false;
    const direction = transceiver.currentDirection ?? transceiver.direction;
    return direction === 'recvonly' || direction === 'sendrecv';
  }

  #createTrack(transceiver: RTCRtpTransceiver, mid: string, description: TrackDescription | undefined): PublishedTrack {
    const { options, metrics } = this.context;
    const track = new PublishedTrack({
      id: randomId('TR_'),
      kind: transceiver.kind as TrackKind,
      source: description?.source ?? 'unknown',
      name: description?.name,
      mid,
      publisherIdentity: this.#identity,
      priority: this.#hooks.trackPriority,
      receiver: transceiver.receiver,
      extensions: PeerBase.extensionIds(transceiver),
      codec: transceiver.codecs.find((c) => !/\/(rtx|red)$/i.test(c.mimeType)),
      packetCacheSize: options.packetCacheSize,
      clock: this.#clock,
      pliMinIntervalMs: options.pliMinIntervalMs,
      metrics,
      layers: simulcastLayers(transceiver.receiver.tracks.flatMap((t) => (t.rid ? [t.rid] : [])), description?.layers),
      onLayersNeeded: options.dynacast
        ? (highest, previous) => {
            metrics.dynacastChanges.inc({ direction: highest > previous ? 'up' : 'down' });
            this.#hooks.onPublishLayers({ trackId: track.id, layers: track.layers.map((l) => ({ rid: l.rid ?? '', active: l.index <= highest })) });
          }
        : undefined,
    });
    if (track.kind === 'video') {
      // werift's receiver NACK generator is not wrap-safe and never stops its timer: ours takes its place.
      this.#closeNack(mid);
      this.#nackByMid.set(mid, PublisherNack.attach(transceiver.receiver, {
        metrics,
        onUnrecoveredLoss: (ssrc) => {
          const layer = track.layerOf(ssrc);
          if (layer) track.requestKeyframe('loss', layer);
        },
      }));
    }
    // werift makes a simulcast receiver's tracks (one per rid) in setRemoteDescription, and reports only the
    // first through onTrack: every one is in receiver.tracks.
    for (const remote of transceiver.receiver.tracks) track.attachRemote(remote);
    transceiver.onTrack.subscribe((remote) => {
      if (!track.closed) track.attachRemote(remote);
    });
    return track;
  }
}

/**
 * The layers of an m-line whose offer lists several rids (a=rid, RFC 8853), lowest quality first: those the client
 * described, in its order (the order of its encodings is its own choice), then any it did not, in offer order.
 */
export function simulcastLayers(offered: readonly string[], described: readonly SimulcastLayerDescription[] | undefined): SimulcastLayerDescription[] {
  if (offered.length < 2) return [];
  const known = (described ?? []).filter((layer) => offered.includes(layer.rid));
  const rest = offered.filter((rid) => !known.some((layer) => layer.rid === rid)).map((rid) => ({ rid }));
  return [...new Map([...known, ...rest].map((layer) => [layer.rid, layer])).values()];
}
