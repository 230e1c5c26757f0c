import { MediaStreamTrack, RtpHeader, RtpPacket, type RTCDataChannel, type RTCPeerConnection, type RTCRtpTransceiver } from 'werift';
import { createPeerConnection } from '../../sfu/peer/peer-factory.js';
// The SFU's fixes for werift's per-m-line costs (fingerprint, repeated SDP parses) serve bots in full rooms too.
import '../../sfu/peer/werift-speedups.js';
import { sfuCodecs } from '../../sfu/peer/media-capabilities.js';
import { iceCredentials } from '../../sfu/peer/sdp-sections.js';
import { defaultSfuOptions } from '../../sfu/sfu-options.js';
import { decodeDataEnvelope, encodeDataEnvelope, encodeText } from '../../sfu/session/data-envelope.js';
import type { MintTokenOptions } from '../../signaling/tokens.js';
import { joinFollowingRedirects, SignalingClient, testToken } from './signaling-client.js';
import { TextAnswerer } from './text-answerer.js';

const botOptions = { ...defaultSfuOptions, portMin: 50000, portMax: 59999 };

export interface BotOptions {
  /** Percentage of incoming RTP the bot's subscriber connection drops (werift's debug option). */
  inboundLossPercent?: number;
  /** Called with every RTP packet the subscriber connection receives (after werift's SRTP and RTX unwrapping). */
  onRtp?: (packet: RtpPacket, track: ReceivedTrack) => void;
  /** Sent in `join` when set: false receives only the tracks `subscribe`d (docs/PROTOCOL.md, "Subscribing"). */
  autoSubscribe?: boolean;
  /** Answer audio and video m-lines as text, receiving no media (text-answerer.ts): rooms where negotiation is measured. */
  textAnswers?: boolean;
  /** The join token; default: one minted with the test servers' key (test-key.ts). */
  token?: string;
}

export interface PublishOptions {
  video?: boolean;
  audio?: boolean;
  videoKbps?: number;
  videoCodec?: 'VP8' | 'H264';
  /** Packets per video frame (30 frames/s), instead of splitting each frame into packets of <= 1100 bytes. */
  videoPacketsPerFrame?: number;
  /** The first RTP sequence number of each source (default 1000); near 65535 to make the 16-bit wrap come early. */
  firstSequenceNumber?: number;
  /** Called with each packet's own payload buffer before it is sent; may write into it (e.g. a soak's stamp). */
  stamp?: (kind: 'audio' | 'video', payload: Buffer) => void;
  /** false: negotiate the tracks but send no RTP (large rooms where negotiation is what is tested). */
  sendMedia?: boolean;
  /**
   * Trickle as browsers may: an offer without a=candidate lines, and the candidates sent this long after the
   * answer arrived (the SFU's ICE starts with no remote candidate).
   */
  trickleLateMs?: number;
}

export interface ReceivedTrack {
  trackId: string;
  kind: string;
  packets: number;
  bytes: number;
  firstPacketAt?: number;
  lastSequenceNumber?: number;
  payloadTypes: Set<number>;
}

export interface ReceivedData {
  from: string;
  text: string;
  topic?: string;
  reliable: boolean;
  receivedAt: number;
}

/**
 * A participant made of werift peer connections and a raw signaling socket: it answers subscriber
 * offers, trickles ICE, counts the RTP it receives per track, publishes synthetic VP8/Opus, and sends
 * and receives data messages.
 */
export class Bot {
  readonly received = new Map<string, ReceivedTrack>();
  readonly data: ReceivedData[] = [];
  readonly subscriber: RTCPeerConnection;
  publisher?: RTCPeerConnection;
  readonly channels: { reliable: RTCDataChannel; lossy: RTCDataChannel };
  #midToTrack: Record<string, string> = {};
  #timers: NodeJS.Timeout[] = [];
  #closed = false;
  readonly #onRtp?: BotOptions['onRtp'];
  readonly #textAnswerer?: TextAnswerer;
  /** Subscriber offers received, answers sent, and failures to apply an offer. */
  offersReceived = 0;
  answersSent = 0;
  readonly negotiationErrors: string[] = [];
  /** Track ids carried by the latest subscriber offer this bot answered (mid → track id). */
  answeredTracks: Record<string, string> = {};
  /** msid lines of the latest subscriber offer (stream id and track id), as a browser would read them. */
  offeredMsids: string[] = [];

  /** The track descriptions of the last publishOffer, sent again with an ICE restart's offer. */
  #publishedTracks: { mid: string; source: string }[] = [];
  /**
   * Candidates werift gathers inside setLocalDescription of an ICE restart, held back: sent before the description with
   * the new credentials, the SFU could not match them; the description lists them.
   */
  #holdCandidates = false;
  /** ICE credentials of the last subscriber offer: an offer with others restarts ICE. */
  #offeredIce?: string;
  /**
   * The audio level (RFC 6464: 0 loudest .. 127 silence, -dBov) its synthetic Opus packets carry, read as each is
   * sent (set it to make the bot speak); undefined: no level extension at all.
   */
  audioLevel: number | undefined = 127;
  /** True: its synthetic audio sends no packets at all (a paused sender, `replaceTrack(null)`), until false again. */
  audioPaused = false;
  /** Every `activeSpeakers` message received, with when it arrived (performance.now()). */
  readonly activeSpeakers: { speakers: { identity: string; level: number }[]; at: number }[] = [];

  /** PLIs/FIRs the SFU sent to this bot's publisher connection. */
  keyframeRequests = 0;
  #forceKeyframe = false;

  private constructor(
    readonly identity: string,
    readonly signaling: SignalingClient,
    options: BotOptions,
  ) {
    this.#onRtp = options.onRtp;
    // werift drops this share of incoming RTP, so its receivers NACK and the SFU must retransmit.
    // werift's debug option drops a packet when `inboundPacketLoss / 100 < Math.random()`: the share it keeps.
    const keepPercent = options.inboundLossPercent ? 100 - options.inboundLossPercent : 0;
    this.subscriber = createPeerConnection(botOptions, keepPercent > 0 ? { debug: { inboundPacketLoss: keepPercent } } : {});
    const channel = (label: string, id: number, ordered: boolean) => {
      const ch = this.subscriber.createDataChannel(label, { negotiated: true, id, ordered, ...(ordered ? {} : { maxRetransmits: 0 }) });
      ch.onMessage.subscribe((message) => {
        const envelope = decodeDataEnvelope(typeof message === 'string' ? Buffer.from(message) : message);
        if (typeof envelope === 'string') return;
        this.data.push({
          from: String(envelope.header.from),
          text: Buffer.from(envelope.payload).toString(),
          topic: envelope.header.topic as string | undefined,
          reliable: ordered,
          receivedAt: performance.now(),
        });
      });
      return ch;
    };
    this.channels = { reliable: channel('reliable', 0, true), lossy: channel('lossy', 1, false) };
    if (options.textAnswers) this.#textAnswerer = new TextAnswerer(this.subscriber);
    this.subscriber.onIceCandidate.subscribe((candidate) => {
      if (candidate && !this.#holdCandidates) signaling.send({ type: 'trickle', target: 'subscriber', candidate: candidate.toJSON() });
    });
    this.subscriber.onTrack.subscribe((track) => this.#onTrack(track));
    signaling.socket.on('message', (raw) => void this.#onSignal(JSON.parse(raw.toString())));
    // Frames that arrived with `joined` in one read were emitted before this listener existed.
    const joined = signaling.messages.findIndex((m) => m.type === 'joined');
    if (joined >= 0) for (const message of signaling.messages.slice(joined + 1)) void this.#onSignal(message);
  }

  static async join(url: string, room: string, identity: string, grants?: MintTokenOptions['grants'], options: BotOptions = {}): Promise<Bot> {
    const autoSubscribe = options.autoSubscribe === undefined ? {} : { autoSubscribe: options.autoSubscribe };
    const token = options.token ?? (await testToken({ room, identity, grants }));
    const { client } = await joinFollowingRedirects(url, room, token, autoSubscribe);
    return new Bot(identity, client, options);
  }

  /** A bot on a socket that has already joined (e.g. after following redirects and retries as the SDK does). */
  static attach(identity: string, signaling: SignalingClient, options: BotOptions = {}): Bot {
    return new Bot(identity, signaling, options);
  }

  /** Publishes synthetic VP8 video (~`videoKbps`) and Opus audio; returns the published track ids. */
  async publish(options: PublishOptions = {}): Promise<string[]> {
    const { video = true, audio = true, videoKbps = 1000, videoCodec = 'VP8' } = options;
    const pc = (this.publisher = createPeerConnection(botOptions));
    const late = options.trickleLateMs;
    const held: object[] = [];
    pc.onIceCandidate.subscribe((candidate) => {
      if (!candidate || this.#holdCandidates) return;
      if (late === undefined) this.signaling.send({ type: 'trickle', target: 'publisher', candidate: candidate.toJSON() });
      else held.push(candidate.toJSON());
    });
    const sources: { transceiver: RTCRtpTransceiver; track: MediaStreamTrack; kind: 'audio' | 'video' }[] = [];
    if (video) {
      const track = new MediaStreamTrack({ kind: 'video' });
      const transceiver = pc.addTransceiver(track, { direction: 'sendonly' });
      transceiver.setCodecPreferences(sfuCodecs().video.filter((c) => c.mimeType === `video/${videoCodec}` || c.parameters === `apt=${videoCodec === 'VP8' ? 96 : 102}`));
      transceiver.sender.onPictureLossIndication.subscribe(() => {
        this.keyframeRequests++;
        this.#forceKeyframe = true; // as an encoder does: the next frame is a key frame
      });
      sources.push({ transceiver, track, kind: 'video' });
    }
    if (audio) {
      const track = new MediaStreamTrack({ kind: 'audio' });
      sources.push({ transceiver: pc.addTransceiver(track, { direction: 'sendonly' }), track, kind: 'audio' });
    }
    await pc.setLocalDescription(await pc.createOffer());
    const tracks = sources.map((s) => ({ mid: s.transceiver.mid!, source: s.kind === 'video' ? 'camera' : 'microphone' }));
    this.#publishedTracks = tracks;
    const before = this.signaling.messages.length;
    const offer = late === undefined ? pc.localDescription!.sdp : pc.localDescription!.sdp.replace(/^a=(candidate:.*|end-of-candidates)\r\n/gm, '');
    this.signaling.send({ type: 'publishOffer', sdp: offer, tracks });
    const replyTo = () => this.signaling.messages.slice(before).find((m) => m.type === 'publishAnswer' || (m.type === 'error' && m.requestType === 'publishOffer'));
    await waitUntil(() => replyTo() !== undefined, 15_000, 'the answer to a publish offer');
    const reply = replyTo()!;
    if (reply.type !== 'publishAnswer') {
      // Refused (e.g. PERMISSION_DENIED): nothing is published; a later publish starts over.
      this.publisher = undefined;
      await pc.close();
      throw new Error(`${String(reply.code)}: ${String(reply.message)}`);
    }
    const answer = reply;
    if (late !== undefined) {
      const timer = setTimeout(() => {
        for (const candidate of held) this.signaling.send({ type: 'trickle', target: 'publisher', candidate });
      }, late);
      this.#timers.push(timer);
    }
    await pc.setRemoteDescription({ type: 'answer', sdp: answer.sdp });
    const levelId = sources.find((s) => s.kind === 'audio')?.transceiver.headerExtensions.find((e) => e.uri === 'urn:ietf:params:rtp-hdrext:ssrc-audio-level')?.id;
    if (options.sendMedia !== false) for (const source of sources) this.#startSource(source.track, source.kind, videoKbps, videoCodec, options, levelId);
    return answer.tracks.map((t) => t.trackId);
  }

  /**
   * ICE restart of the publisher connection (docs/PROTOCOL.md, "ICE restart"): an offer with new ICE credentials and
   * the same tracks; resolves with the answer applied, or rejects with the server's error.
   */
  async restartPublisherIce(): Promise<void> {
    const pc = this.publisher;
    if (!pc) throw new Error('nothing published');
    const offer = await pc.createOffer({ iceRestart: true });
    this.#holdCandidates = true;
    try {
      await pc.setLocalDescription(offer);
    } finally {
      this.#holdCandidates = false;
    }
    const before = this.signaling.messages.length;
    this.signaling.send({ type: 'publishOffer', sdp: pc.localDescription!.sdp, tracks: this.#publishedTracks });
    const reply = () => this.signaling.messages.slice(before).find((m) => m.type === 'publishAnswer' || (m.type === 'error' && m.requestType === 'publishOffer'));
    await waitUntil(() => reply() !== undefined, 10_000, 'the answer to an ICE restart offer');
    const answer = reply()!;
    if (answer.type !== 'publishAnswer') {
      await pc.setLocalDescription({ type: 'rollback' } as never);
      throw new Error(`${String(answer.code)}: ${String(answer.message)}`);
    }
    await pc.setRemoteDescription({ type: 'answer', sdp: answer.sdp });
  }

  /** Asks the server to restart ICE on the subscriber connection; its next offer (answered as any) has new credentials. */
  requestSubscriberIceRestart(): void {
    this.signaling.send({ type: 'iceRestart', target: 'subscriber' });
  }

  /** Asks to receive these tracks (`subscribe`). */
  subscribe(trackIds: string[]): void {
    this.signaling.send({ type: 'subscribe', trackIds });
  }

  /** Asks to stop receiving these tracks (`unsubscribe`). */
  unsubscribe(trackIds: string[]): void {
    this.signaling.send({ type: 'unsubscribe', trackIds });
  }

  /** Whether the latest answered subscriber offer carries every one of `trackIds`. */
  hasNegotiated(trackIds: Iterable<string>): boolean {
    const carried = new Set(Object.values(this.answeredTracks));
    for (const id of trackIds) if (!carried.has(id)) return false;
    return true;
  }

  sendData(text: string, options: { reliable?: boolean; to?: string[]; topic?: string } = {}): void {
    const frame = encodeDataEnvelope({ ...(options.to ? { to: options.to } : {}), ...(options.topic ? { topic: options.topic } : {}) }, encodeText(text), true);
    (options.reliable === false ? this.channels.lossy : this.channels.reliable).send(Buffer.from(frame));
  }

  /** Resolves once the data channels are open (after the subscriber connection is up). */
  async dataReady(timeoutMs = 15_000): Promise<void> {
    await waitUntil(() => this.channels.reliable.readyState === 'open' && this.channels.lossy.readyState === 'open', timeoutMs, 'data channels open');
  }

  /** Resolves when `count` tracks have each delivered at least `packets` RTP packets. */
  async receivesTracks(count: number, packets = 5, timeoutMs = 20_000): Promise<void> {
    await waitUntil(() => [...this.received.values()].filter((t) => t.packets >= packets).length >= count, timeoutMs, `${count} tracks flowing to ${this.identity}`);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const timer of this.#timers) clearInterval(timer);
    this.signaling.close();
    await Promise.all([this.subscriber.close(), this.publisher?.close()]);
  }

  #startSource(track: MediaStreamTrack, kind: 'audio' | 'video', videoKbps: number, codec: 'VP8' | 'H264', options: PublishOptions = {}, levelId?: number): void {
    const stamp = options.stamp;
    let sequenceNumber = (options.firstSequenceNumber ?? 1000) & 0xffff;
    let timestamp = 5000;
    let frame = 0;
    if (kind === 'audio') {
      const payload = Buffer.alloc(80, 0xfc);
      this.#timers.push(setInterval(() => {
        if (this.audioPaused) return;
        const own = stamp ? Buffer.from(payload) : payload;
        stamp?.('audio', own);
        const header = new RtpHeader({ payloadType: 111, sequenceNumber, timestamp, marker: true });
        // RFC 6464 §3: V bit (voice activity) over the 7-bit level; werift's sender keeps extensions it does not write.
        const level = this.audioLevel;
        if (levelId !== undefined && level !== undefined) header.extensions = [{ id: levelId, payload: Buffer.from([(level < 127 ? 0x80 : 0) | level]) }];
        track.writeRtp(new RtpPacket(header, own));
        sequenceNumber = (sequenceNumber + 1) & 0xffff;
        timestamp = (timestamp + 960) >>> 0;
      }, 20));
      return;
    }
    // 30 frames/s; every frame split into packets of <= 1100 bytes; a key frame every 60 frames or on request.
    const frameBytes = Math.round((videoKbps * 1000) / 8 / 30);
    const packetsPerFrame = options.videoPacketsPerFrame ?? Math.max(1, Math.ceil(frameBytes / 1100));
    const chunk = Math.ceil(frameBytes / packetsPerFrame);
    this.#timers.push(setInterval(() => {
      const keyframe = frame % 60 === 0 || this.#forceKeyframe;
      this.#forceKeyframe = false;
      for (let i = 0; i < packetsPerFrame; i++) {
        const payload = Buffer.alloc(chunk, 0x55);
        if (codec === 'VP8') {
          payload[0] = i === 0 ? 0x10 : 0x00; // VP8 descriptor: S bit on the first packet, partition 0 (RFC 7741 §4.2)
          payload[1] = keyframe ? 0x00 : 0x01; // payload header P bit: 0 = key frame (§4.3)
        } else {
          // H264 FU-A (RFC 6184 §5.8): start bit on the first fragment; IDR (5) or non-IDR slice (1).
          payload[0] = 0x7c;
          payload[1] = (i === 0 ? 0x80 : 0) | (i === packetsPerFrame - 1 ? 0x40 : 0) | (keyframe ? 5 : 1);
        }
        stamp?.('video', payload);
        const header = new RtpHeader({ payloadType: codec === 'VP8' ? 96 : 102, sequenceNumber, timestamp, marker: i === packetsPerFrame - 1 });
        track.writeRtp(new RtpPacket(header, payload));
        sequenceNumber = (sequenceNumber + 1) & 0xffff;
      }
      timestamp = (timestamp + 3000) >>> 0;
      frame++;
    }, 33));
  }

  #onTrack(track: MediaStreamTrack): void {
    const transceiver = this.subscriber.getTransceivers().find((t) => t.receiver.tracks.includes(track));
    const mid = transceiver?.mid ?? '';
    const trackId = this.#midToTrack[mid] ?? `mid:${mid}`;
    const stats: ReceivedTrack = { trackId, kind: track.kind, packets: 0, bytes: 0, payloadTypes: new Set() };
    this.received.set(trackId, stats);
    track.onReceiveRtp.subscribe((packet) => {
      stats.packets++;
      stats.bytes += packet.payload.length;
      stats.firstPacketAt ??= performance.now();
      stats.lastSequenceNumber = packet.header.sequenceNumber;
      stats.payloadTypes.add(packet.header.payloadType);
      this.#onRtp?.(packet, stats);
    });
  }

  async #onSignal(message: { type: string; [k: string]: unknown }): Promise<void> {
    if (this.#closed) return;
    if (message.type === 'activeSpeakers') {
      this.activeSpeakers.push({ speakers: message.speakers as { identity: string; level: number }[], at: performance.now() });
    } else if (message.type === 'subscriberOffer') {
      this.offersReceived++;
      const tracks = message.tracks as Record<string, string>;
      this.#midToTrack = { ...this.#midToTrack, ...tracks };
      this.offeredMsids = [...(message.sdp as string).matchAll(/^a=msid:(.*)$/gm)].map((m) => m[1].replace(/\r$/, ''));
      let answer: string;
      try {
        if (this.#textAnswerer) answer = await this.#textAnswerer.answer(message.sdp as string);
        else {
          const ice = iceCredentials(message.sdp as string);
          const restart = this.#offeredIce !== undefined && ice !== this.#offeredIce;
          this.#offeredIce = ice;
          // werift would take new credentials beside a stopped (inactive) m-line for a "renomination" and keep its
          // own (sfu/peer/werift-peer-internals.ts, "ICE restart"): restarted here, as a browser does.
          if (restart) for (const transport of this.subscriber.iceTransports) transport.restart();
          await this.subscriber.setRemoteDescription({ type: 'offer', sdp: message.sdp as string });
          const local = await this.subscriber.createAnswer();
          this.#holdCandidates = restart;
          try {
            await this.subscriber.setLocalDescription(local);
          } finally {
            this.#holdCandidates = false;
          }
          answer = this.subscriber.localDescription!.sdp;
        }
      } catch (error) {
        this.negotiationErrors.push((error as Error).message);
        return;
      }
      if (this.#closed) return;
      this.signaling.send({ type: 'subscriberAnswer', sdp: answer });
      this.answersSent++;
      this.answeredTracks = tracks;
    } else if (message.type === 'trickle') {
      const pc = message.target === 'publisher' ? this.publisher : this.subscriber;
      await pc?.addIceCandidate(message.candidate as never).catch(() => undefined);
    }
  }
}

/** Polls `condition` every 20 ms until it holds; fails naming `what` after `timeoutMs`. */
export async function waitUntil(condition: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await condition())) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
