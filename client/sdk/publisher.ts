import type { ClientMessage, ServerMessage, TrackInfo, TrackSourceName } from '../../signaling/messages.js';
import { ClientErrorCode, InvalidStateError, RequestError, TrackNotFoundError } from './errors.js';
import { makeLocalTrack, type LocalTrack } from './local-track.js';
import { PeerTransport, type PeerTransportHooks } from './peer-transport.js';
import { cameraLayers, describeLayers } from './simulcast.js';

export type { LocalTrack } from './local-track.js';

/** One track to add in a publish round. */
export interface PublishEntry {
  track: MediaStreamTrack;
  stream: MediaStream;
  source: TrackSourceName;
  /** Cameras of 360p and up are sent as simulcast layers unless false. */
  simulcast?: boolean;
}

type LayerDescription = { rid: string; width: number; height: number };

export interface PublisherHooks extends PeerTransportHooks {
  send(msg: ClientMessage): boolean;
  /** The answer did not list a track for an offered m-line. */
  trackNotAccepted(mid: string, track: MediaStreamTrack): void;
  /** A LocalTrack's mute()/unmute(): `muteTrack`, resolved on the server's `requestDone`. */
  setMuted(trackId: string, muted: boolean): Promise<void>;
}

type PublishAnswer = Extract<ServerMessage, { type: 'publishAnswer' }>;

interface PendingAnswer {
  resolve(answer: PublishAnswer): void;
  reject(err: Error): void;
  timer: ReturnType<typeof setTimeout>;
}

/**
 * The upstream peer connection (the client offers), created on the first publish. Each publish adds one
 * sendonly transceiver per track and runs one offer/answer round; rounds are serialized.
 */
export class Publisher {
  private transport: PeerTransport | undefined;
  /** Every m-line currently sending, with the source announced for it and its simulcast layers. */
  private readonly sending = new Map<RTCRtpTransceiver, { source: TrackSourceName; layers?: LayerDescription[] }>();
  private readonly published = new Map<string, { local: LocalTrack; transceiver: RTCRtpTransceiver; layerUpdate?: Promise<void> }>();
  private pendingAnswer: PendingAnswer | undefined;
  private closed = false;

  constructor(
    private readonly config: RTCConfiguration,
    private readonly answerTimeoutMs: number,
    private readonly hooks: PublisherHooks,
  ) {}

  /** The upstream connection, once the first publish has created it. */
  get pc(): RTCPeerConnection | undefined {
    return this.transport?.pc;
  }

  get tracks(): LocalTrack[] {
    return [...this.published.values()].map((p) => p.local);
  }

  publish(entries: PublishEntry[]): Promise<LocalTrack[]> {
    const transport = (this.transport ??= new PeerTransport('publisher', this.config, this.hooks, () => void this.restartIce().catch(() => undefined)));
    return transport.negotiate(async () => {
      if (this.closed) throw new InvalidStateError('publisher is closed');
      const pc = transport.pc;
      const added = entries.map((e) => {
        // A camera's layers, lowest first (docs/BANDWIDTH.md); a screen share is sent as one layer, at full
        // resolution, since text shrunk to a lower layer is unreadable.
        const { width = 0, height = 0 } = e.track.kind === 'video' ? e.track.getSettings() : {};
        const layers = e.source === 'camera' && e.simulcast !== false ? cameraLayers(width, height) : [];
        const transceiver = pc.addTransceiver(e.track, {
          direction: 'sendonly',
          streams: [e.stream],
          ...(layers.length > 0 ? { sendEncodings: layers.map((l) => ({ ...l })) } : {}),
        });
        return { ...e, transceiver, layers: layers.length > 0 ? describeLayers(layers, width, height) : undefined };
      });
      for (const a of added) this.sending.set(a.transceiver, { source: a.source, layers: a.layers });
      try {
        await pc.setLocalDescription(await pc.createOffer());
        const answer = await this.request({ type: 'publishOffer', sdp: pc.localDescription!.sdp, tracks: this.describeSending() });
        await transport.setRemoteDescription({ type: 'answer', sdp: answer.sdp });
        return this.claim(added, answer.tracks);
      } catch (err) {
        await this.rollback(added.map((a) => a.transceiver));
        throw err;
      }
    });
  }

  /**
   * ICE restart (docs/PROTOCOL.md, "ICE restart"): an offer with new ICE credentials and the same tracks, in its turn
   * after any publish in progress. The server answers with new credentials; nothing is published or unpublished.
   * A refused or unanswered one is rolled back (the connection keeps its credentials).
   */
  restartIce(): Promise<void> {
    const transport = this.transport;
    if (transport === undefined) return Promise.resolve();
    return transport.negotiate(async () => {
      if (this.closed) return;
      const pc = transport.pc;
      try {
        await pc.setLocalDescription(await pc.createOffer({ iceRestart: true }));
        const answer = await this.request({ type: 'publishOffer', sdp: pc.localDescription!.sdp, tracks: this.describeSending() });
        await transport.setRemoteDescription({ type: 'answer', sdp: answer.sdp });
      } catch (err) {
        await this.rollback([]);
        throw err;
      }
    });
  }

  /** Sends `unpublish` and stops the sender without renegotiating (docs/PROTOCOL.md). */
  unpublish(trackId: string): Promise<LocalTrack> {
    return this.stopSending(trackId, true);
  }

  /** The server unpublished it (a permission taken away): stops sending it as `unpublish` does, without telling the server. */
  forget(trackId: string): Promise<LocalTrack | undefined> {
    return this.stopSending(trackId, false).catch(() => undefined);
  }

  private stopSending(trackId: string, tellServer: boolean): Promise<LocalTrack> {
    const entry = this.published.get(trackId);
    if (entry === undefined || this.transport === undefined) return Promise.reject(new TrackNotFoundError(trackId));
    return this.transport.negotiate(async () => {
      if (!this.published.delete(trackId)) throw new TrackNotFoundError(trackId);
      this.sending.delete(entry.transceiver);
      if (tellServer) this.hooks.send({ type: 'unpublish', trackId });
      // Stops sending now; the m-line is offered as `inactive` in the next renegotiation.
      if (!this.closed) this.transport?.pc.removeTrack(entry.transceiver.sender);
      return entry.local;
    });
  }

  /**
   * Dynacast (docs/PROTOCOL.md): encodes only the simulcast layers some subscriber receives. A layer turned
   * back on starts with a key frame.
   */
  setLayersActive(trackId: string, layers: readonly { rid: string; active: boolean }[]): void {
    const entry = this.published.get(trackId);
    if (entry === undefined) return;
    const wanted = new Map(layers.map((l) => [l.rid, l.active]));
    // One sender's setParameters calls must not overlap: each needs the parameters the previous one left.
    entry.layerUpdate = (entry.layerUpdate ?? Promise.resolve())
      .then(async () => {
        const sender = entry.transceiver.sender;
        const parameters = sender.getParameters();
        let changed = false;
        for (const encoding of parameters.encodings) {
          const active = encoding.rid === undefined ? undefined : wanted.get(encoding.rid);
          if (active === undefined || encoding.active === active) continue;
          encoding.active = active;
          changed = true;
        }
        if (changed && !this.closed) await sender.setParameters(parameters);
      })
      .catch(() => undefined); // the track was unpublished or the connection closed meanwhile
  }

  handleAnswer(answer: PublishAnswer): void {
    const pending = this.pendingAnswer;
    if (pending === undefined) return;
    this.pendingAnswer = undefined;
    clearTimeout(pending.timer);
    pending.resolve(answer);
  }

  /** An `error` with `requestType: "publishOffer"` fails the publish waiting for its answer. */
  handleError(code: string, message: string): void {
    this.failPending(new RequestError(code, message, 'publishOffer'));
  }

  handleRemoteCandidate(candidate: Parameters<PeerTransport['addRemoteCandidate']>[0]): void {
    void this.transport?.addRemoteCandidate(candidate);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.failPending(new RequestError(ClientErrorCode.CONNECTION_CLOSED, 'the room was disconnected', 'publishOffer'));
    this.transport?.close();
    this.sending.clear();
    this.published.clear();
  }

  /** `publishOffer.tracks`: every m-line sending, by mid, with its source and simulcast layers. */
  private describeSending(): Extract<ClientMessage, { type: 'publishOffer' }>['tracks'] {
    return [...this.sending].flatMap(([t, { source, layers }]) => (t.mid === null ? [] : [{ mid: t.mid, source, ...(layers ? { layers } : {}) }]));
  }

  private request(msg: Extract<ClientMessage, { type: 'publishOffer' }>): Promise<PublishAnswer> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => this.failPending(new RequestError(ClientErrorCode.TIMEOUT, `no publishAnswer within ${this.answerTimeoutMs} ms`, 'publishOffer')),
        this.answerTimeoutMs,
      );
      this.pendingAnswer = { resolve, reject, timer };
      if (!this.hooks.send(msg)) {
        this.failPending(new RequestError(ClientErrorCode.CONNECTION_CLOSED, 'the signaling socket is closed', 'publishOffer'));
      }
    });
  }

  private failPending(err: Error): void {
    const pending = this.pendingAnswer;
    if (pending === undefined) return;
    this.pendingAnswer = undefined;
    clearTimeout(pending.timer);
    pending.reject(err);
  }

  /**
   * Pairs each new m-line with a track of the answer. The answer's TrackInfo has no mid, so this matches by
   * mid when the server adds one, else by kind and source in offer order, skipping tracks already published.
   */
  private claim(added: (PublishEntry & { transceiver: RTCRtpTransceiver })[], answerTracks: TrackInfo[]): LocalTrack[] {
    const unclaimed = answerTracks.filter((t) => !this.published.has(t.trackId));
    const result: LocalTrack[] = [];
    for (const a of added) {
      const mid = a.transceiver.mid;
      if (mid === null) continue;
      const kind = a.track.kind;
      let index = unclaimed.findIndex((t) => (t as { mid?: unknown }).mid === mid);
      if (index === -1) index = unclaimed.findIndex((t) => t.kind === kind && t.source === a.source);
      if (index === -1) index = unclaimed.findIndex((t) => t.kind === kind);
      if (index === -1) {
        this.hooks.trackNotAccepted(mid, a.track);
        continue;
      }
      const [info] = unclaimed.splice(index, 1);
      const local = makeLocalTrack(info, mid, a.track, this.hooks.setMuted);
      this.published.set(info.trackId, { local, transceiver: a.transceiver });
      result.push(local);
    }
    return result;
  }

  private async rollback(transceivers: RTCRtpTransceiver[]): Promise<void> {
    for (const t of transceivers) this.sending.delete(t);
    if (this.closed || this.transport === undefined) return;
    const pc = this.transport.pc;
    try {
      if (pc.signalingState === 'have-local-offer') await pc.setLocalDescription({ type: 'rollback' });
      // removeTrack, not stop(): Chromium then leaves a stopped transceiver that keeps the next new one out of
      // the offer. The m-line stays, `inactive`, and is never listed as sending.
      for (const t of transceivers) pc.removeTrack(t.sender);
    } catch {
      // The connection is already unusable; the caller gets the original error.
    }
  }
}
