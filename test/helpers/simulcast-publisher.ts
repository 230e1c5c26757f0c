import {
  GenericNack,
  PictureLossIndication,
  RTP_EXTENSION_URI,
  RtcpPayloadSpecificFeedback,
  RtcpRrPacket,
  RtcpSenderInfo,
  RtcpSrPacket,
  RtcpTransportLayerFeedback,
  MediaStreamTrack,
  RtpHeader,
  RtpPacket,
  ntpTime,
  type RTCDtlsTransport,
  type RTCPeerConnection,
  type RtcpPacket,
} from 'werift';
import { closePeerConnection, createPeerConnection } from '../../sfu/peer/peer-factory.js';
import { PayloadType, sfuCodecs } from '../../sfu/peer/media-capabilities.js';
import { defaultSfuOptions } from '../../sfu/sfu-options.js';
import { parseVp8Descriptor } from '../../sfu/simulcast/vp8-descriptor.js';
import { Bot, waitUntil, type BotOptions } from './bot.js';

/*
 * A werift stand-in for a Chromium simulcast publisher. werift's RTCRtpSender sends one SSRC only, so the
 * transceivers are only used to negotiate (a=rid / a=simulcast:send from sendEncodings) and the RTP is made by
 * hand and sent through the DTLS transport, as libwebrtc would send it:
 * - the offer has no a=ssrc / a=ssrc-group lines (libwebrtc signals no SSRC for rid simulcast);
 * - each layer has its own media and RTX SSRC, sequence numbers and random RTP timestamp base;
 * - media packets carry MID + RID (RFC 8852 §3.1) and RTX packets MID + repaired RID (§3.2) until an RTCP report
 *   block names their SSRC (libwebrtc stops then; it keeps that state when a layer pauses and resumes);
 * - VP8 with the payload descriptor Chromium writes with temporal layers (RFC 7741 §4.2): 15-bit PictureID,
 *   TL0PICIDX, TID/Y, plus KEYIDX, followed by a tag naming the camera, the layer and the packet's own sequence
 *   number, so a subscriber can tell what it got whatever the SFU rewrote;
 * - a key frame every `keyframeIntervalMs`, and on the next frame of a layer after a PLI for its SSRC;
 * - Generic NACKs answered over RTX (RFC 4588 §4), and a Sender Report per layer every second.
 */

/** The peer's port range, as the test bots use. */
const peerOptions = { ...defaultSfuOptions, portMin: 50000, portMax: 59999 };
const FRAME_MS = 33;
/** Packets each layer keeps to answer NACKs with (over 5 s of the top layer at the default rates). */
const RTX_HISTORY = 512;
/** libwebrtc's default VP8 temporal pattern with three temporal layers (L1T3): TID per frame. */
const TEMPORAL_PATTERN = [0, 2, 1, 2] as const;
/** Ends the tag written after the VP8 payload descriptor; also the padding byte. */
const TAG_END = 0;

export interface SimulcastPublisherOptions {
  /** Simulcast video m-lines (cameras) on the one publisher connection; default 1. */
  cameras?: number;
  /** The layers' RTP stream ids, lowest quality first; default q, h, f. The offer lists them highest first. */
  rids?: readonly string[];
  /** Packets per frame for each layer, lowest first; default 1, 2, 3. */
  packetsPerFrame?: readonly number[];
  /** Bytes of each RTP payload; default 300. */
  payloadBytes?: number;
  /** A key frame on every layer this often; default 3000 ms. */
  keyframeIntervalMs?: number;
  /** Also an Opus microphone track, sent by werift's own RTCRtpSender (80-byte frames every 20 ms); default false. */
  microphone?: boolean;
  /** For the publisher's participant's own subscriber connection. */
  bot?: BotOptions;
}

/** One simulcast layer being sent. */
export interface SentLayer {
  readonly camera: number;
  readonly mid: string;
  readonly rid: string;
  /** 0 is the lowest. */
  readonly index: number;
  readonly ssrc: number;
  readonly rtxSsrc: number;
  /** False: the layer is not sent (as a browser turns a layer off when its uplink cannot carry it). */
  sending: boolean;
  /** Media packets made (dropped first transmissions included), and RTX packets sent. */
  packetsSent: number;
  retransmissions: number;
  /** Sequence numbers the SFU NACKed, in order. */
  readonly nacked: number[];
  /** PLIs received for this layer's SSRC. */
  plis: number;
  /** Sequence numbers whose first transmission was dropped (`dropFirstTransmission`). */
  readonly dropped: number[];
  /** Whether an RTCP report block named the media / RTX SSRC (libwebrtc then stops writing MID and RID). */
  acked: boolean;
  rtxAcked: boolean;
  // Numbering state.
  sequenceNumber: number;
  rtxSequenceNumber: number;
  readonly timestampBase: number;
  pictureId: number;
  tl0PicIdx: number;
  keyIdx: number;
  /** Frames since the last key frame (the temporal pattern restarts at each). */
  framesSinceKey: number;
  forceKeyframe: boolean;
  readonly history: Map<number, { payload: Buffer; timestamp: number; marker: boolean }>;
}

/** What a payload says about itself: its VP8 descriptor fields and the tag the publisher wrote. */
export interface SimulcastPayload {
  camera: number;
  rid: string;
  /** The publisher's own sequence number for this packet (on its layer). */
  sequenceNumber: number;
  pictureId: number;
  pictureIdWide: boolean;
  tl0PicIdx: number;
  temporalId: number;
  keyIdx: number;
  /** First packet of a frame (S = 1, PID = 0). */
  startOfFrame: boolean;
  /** First packet of a key frame. */
  keyframe: boolean;
}

/** Reads a payload this publisher made (after the SFU forwarded it); undefined when it is not one. */
export function readSimulcastPayload(payload: Uint8Array): SimulcastPayload | undefined {
  const d = parseVp8Descriptor(payload);
  if (!d) return undefined;
  const start = d.size + 1; // the VP8 payload-header byte (on the first packet of a frame) or a filler byte
  const end = payload.indexOf(TAG_END, start);
  const match = /^cam(\d+)\/([A-Za-z0-9_-]+)#(\d+)$/.exec(Buffer.from(payload.subarray(start, end < 0 ? payload.length : end)).toString('latin1'));
  if (!match) return undefined;
  return {
    camera: Number(match[1]),
    rid: match[2],
    sequenceNumber: Number(match[3]),
    pictureId: d.pictureId,
    pictureIdWide: d.pictureIdWide,
    tl0PicIdx: d.tl0PicIdx,
    temporalId: d.temporalId,
    keyIdx: d.keyIdx,
    startOfFrame: d.startOfPartition && d.partitionIndex === 0,
    keyframe: d.keyframe,
  };
}

const random = (modulus: number) => Math.floor(Math.random() * modulus);

/**
 * A participant that publishes simulcast cameras. It joins as a {@link Bot} (so its own subscriber connection
 * answers the SFU's offers and it receives trickled candidates), and adds a publisher connection of its own.
 */
export class SimulcastPublisher {
  readonly bot: Bot;
  readonly pc: RTCPeerConnection;
  /** The published track id of each camera, by camera index. */
  readonly trackIds: string[] = [];
  /** The published microphone track's id (`microphone: true`). */
  microphoneTrackId?: string;
  /** Every layer, camera by camera, lowest first. */
  readonly layers: SentLayer[] = [];
  /** The SSRC of every PLI received, in order. */
  readonly pliSsrcs: number[] = [];
  /** Decides, for each media packet made, whether its first transmission is lost on the way to the SFU. */
  dropFirstTransmission?: (layer: SentLayer, sequenceNumber: number) => boolean;
  readonly #options: Required<Omit<SimulcastPublisherOptions, 'bot'>>;
  readonly #extensionIds = new Map<string, number>();
  readonly #timers: NodeJS.Timeout[] = [];
  #dtls?: RTCDtlsTransport;
  #startedAt = 0;
  #closed = false;

  private constructor(bot: Bot, pc: RTCPeerConnection, options: Required<Omit<SimulcastPublisherOptions, 'bot'>>) {
    this.bot = bot;
    this.pc = pc;
    this.#options = options;
  }

  get identity(): string {
    return this.bot.identity;
  }

  /** Joins `room` as `identity`, publishes the cameras, waits for the connection, and starts sending. */
  static async join(url: string, room: string, identity: string, options: SimulcastPublisherOptions = {}): Promise<SimulcastPublisher> {
    return SimulcastPublisher.publishFrom(await Bot.join(url, room, identity, undefined, options.bot), options);
  }

  /** Publishes the cameras from a bot that has joined (`options.bot` is not used); closes the bot when that fails. */
  static async publishFrom(bot: Bot, options: SimulcastPublisherOptions = {}): Promise<SimulcastPublisher> {
    const resolved = {
      cameras: options.cameras ?? 1,
      rids: options.rids ?? ['q', 'h', 'f'],
      packetsPerFrame: options.packetsPerFrame ?? [1, 2, 3],
      payloadBytes: options.payloadBytes ?? 300,
      keyframeIntervalMs: options.keyframeIntervalMs ?? 3000,
      microphone: options.microphone ?? false,
    };
    let pc: RTCPeerConnection | undefined;
    try {
      if (resolved.packetsPerFrame.length !== resolved.rids.length) throw new Error('one packetsPerFrame entry per rid');
      pc = createPeerConnection(peerOptions);
      bot.publisher = pc; // the bot adds the SFU's trickled publisher candidates to it
      const publisher = new SimulcastPublisher(bot, pc, resolved);
      await publisher.#publish();
      return publisher;
    } catch (error) {
      if (pc) await closePeerConnection(pc);
      await bot.close();
      throw error;
    }
  }

  /** Timers still running (frames, Sender Reports): 0 once closed. */
  get timersRunning(): number {
    return this.#timers.length;
  }

  /** The layer `rid` of camera `camera`. */
  layer(camera: number, rid: string): SentLayer {
    const layer = this.layers.find((l) => l.camera === camera && l.rid === rid);
    if (!layer) throw new Error(`no layer ${rid} on camera ${camera}`);
    return layer;
  }

  /** Stops or resumes sending one layer; a resumed layer starts with a key frame, as an encoder's does. */
  setSending(camera: number, rid: string, sending: boolean): void {
    const layer = this.layer(camera, rid);
    if (sending && !layer.sending) layer.forceKeyframe = true;
    layer.sending = sending;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const timer of this.#timers) clearInterval(timer);
    this.#timers.length = 0;
    await closePeerConnection(this.pc);
    await this.bot.close();
  }

  async #publish(): Promise<void> {
    const { rids, cameras } = this.#options;
    const pc = this.pc;
    const vp8 = sfuCodecs().video.filter((c) => c.mimeType === 'video/VP8' || c.parameters === `apt=${PayloadType.vp8}`);
    // Highest first in the offer, as many applications order their encodings; `layers` gives the real order.
    const sendEncodings = [...rids].reverse().map((rid) => ({ rid }));
    for (let camera = 0; camera < cameras; camera++) {
      pc.addTransceiver('video', { direction: 'sendonly', sendEncodings }).setCodecPreferences(vp8);
    }
    const microphone = this.#options.microphone ? new MediaStreamTrack({ kind: 'audio' }) : undefined;
    const microphoneTransceiver = microphone && pc.addTransceiver(microphone, { direction: 'sendonly' });
    await pc.setLocalDescription(await pc.createOffer());
    // The candidate goes in the offer: werift's ICE fails when it starts checking with no remote candidate yet.
    await waitUntil(() => pc.iceGatheringState === 'complete', 5000, 'simulcast publisher ICE gathering');
    // No SSRC lines in the video sections (libwebrtc's rid simulcast); the microphone keeps its own, as a browser's does.
    let inVideo = false;
    const offer = pc
      .localDescription!.sdp.split('\r\n')
      .filter((line) => {
        if (line.startsWith('m=')) inVideo = line.startsWith('m=video');
        return !(inVideo && (line.startsWith('a=ssrc:') || line.startsWith('a=ssrc-group:')));
      })
      .join('\r\n');
    const transceivers = pc.getTransceivers().filter((t) => t !== microphoneTransceiver);
    const tracks: { mid: string; source: string; layers?: { rid: string }[] }[] = transceivers.map((t) => ({ mid: t.mid!, source: 'camera', layers: rids.map((rid) => ({ rid })) }));
    if (microphoneTransceiver) tracks.push({ mid: microphoneTransceiver.mid!, source: 'microphone' });
    const signaling = this.bot.signaling;
    const before = signaling.messages.length;
    signaling.send({ type: 'publishOffer', sdp: offer, tracks });
    const answer = await Promise.race([
      signaling.waitFor('publishAnswer', (m) => signaling.messages.indexOf(m) >= before),
      signaling
        .waitFor('error', (m) => signaling.messages.indexOf(m) >= before)
        .then((error) => Promise.reject(new Error(`publishOffer refused: ${JSON.stringify(error)}`))),
    ]);
    if (!/^a=simulcast:recv /m.test(answer.sdp)) throw new Error('the answer accepts no simulcast');
    await pc.setRemoteDescription({ type: 'answer', sdp: answer.sdp });
    for (const ext of transceivers[0].headerExtensions) this.#extensionIds.set(ext.uri, ext.id);
    for (const uri of [RTP_EXTENSION_URI.sdesMid, RTP_EXTENSION_URI.sdesRTPStreamID, RTP_EXTENSION_URI.repairedRtpStreamId]) {
      if (!this.#extensionIds.has(uri)) throw new Error(`the answer did not negotiate ${uri}`);
    }
    transceivers.forEach((transceiver, camera) => {
      const published = answer.tracks.find((t) => t.mid === transceiver.mid);
      if (!published) throw new Error(`the answer has no track for mid ${transceiver.mid}`);
      this.trackIds.push(published.trackId);
      rids.forEach((rid, index) => this.layers.push(this.#newLayer(camera, transceiver.mid!, rid, index)));
    });
    if (microphoneTransceiver) this.microphoneTrackId = answer.tracks.find((t) => t.mid === microphoneTransceiver.mid)?.trackId;

    await waitUntil(() => pc.connectionState === 'connected', 10_000, 'simulcast publisher connected');
    const dtls = (this.#dtls = transceivers[0].sender.dtlsTransport);
    await waitUntil(() => dtls.state === 'connected', 10_000, 'simulcast publisher DTLS');
    dtls.onRtcp.subscribe((packet) => this.#onRtcp(packet));
    this.#startedAt = performance.now();
    this.#timers.push(setInterval(() => this.#sendFrame(), FRAME_MS));
    this.#timers.push(setInterval(() => this.#sendSenderReports(), 1000));
    if (microphone) this.#startMicrophone(microphone);
  }

  /** Opus-sized frames every 20 ms (48 kHz clock); werift's sender sets the SSRC and sends the Sender Reports. */
  #startMicrophone(track: MediaStreamTrack): void {
    const payload = Buffer.alloc(80, 0xfc);
    let sequenceNumber = random(0x10000);
    let timestamp = random(0x1_0000_0000);
    this.#timers.push(
      setInterval(() => {
        track.writeRtp(new RtpPacket(new RtpHeader({ payloadType: PayloadType.opus, sequenceNumber, timestamp, marker: true }), payload));
        sequenceNumber = (sequenceNumber + 1) & 0xffff;
        timestamp = (timestamp + 960) >>> 0;
      }, 20),
    );
  }

  #newLayer(camera: number, mid: string, rid: string, index: number): SentLayer {
    // Distinct, recognisable SSRCs: 0x5C (camera) (layer) + random low bits; RTX one bit apart.
    const ssrc = ((0x5c << 24) | (camera << 20) | (index << 16) | random(0x8000)) >>> 0;
    return {
      camera,
      mid,
      rid,
      index,
      ssrc,
      rtxSsrc: (ssrc | 0x8000) >>> 0,
      sending: true,
      packetsSent: 0,
      retransmissions: 0,
      nacked: [],
      plis: 0,
      dropped: [],
      acked: false,
      rtxAcked: false,
      sequenceNumber: random(0x10000),
      rtxSequenceNumber: random(0x10000),
      timestampBase: random(0x1_0000_0000),
      pictureId: random(0x8000),
      tl0PicIdx: random(0x100),
      keyIdx: random(0x20),
      framesSinceKey: 0,
      forceKeyframe: true,
      history: new Map(),
    };
  }

  #sendFrame(): void {
    if (this.#closed) return;
    // Capture time on the 90 kHz clock, as an encoder stamps frames: the Sender Reports use the same clock.
    const ticks = Math.round((performance.now() - this.#startedAt) * 90);
    const keyframeEvery = Math.max(1, Math.round(this.#options.keyframeIntervalMs / FRAME_MS));
    for (const layer of this.layers) {
      if (!layer.sending) continue;
      const keyframe = layer.forceKeyframe || layer.framesSinceKey + 1 >= keyframeEvery;
      layer.forceKeyframe = false;
      layer.framesSinceKey = keyframe ? 0 : layer.framesSinceKey + 1;
      const temporalId = keyframe ? 0 : TEMPORAL_PATTERN[layer.framesSinceKey % TEMPORAL_PATTERN.length];
      layer.pictureId = (layer.pictureId + 1) & 0x7fff;
      if (temporalId === 0) layer.tl0PicIdx = (layer.tl0PicIdx + 1) & 0xff;
      if (keyframe) layer.keyIdx = (layer.keyIdx + 1) & 0x1f;
      const timestamp = (layer.timestampBase + ticks) >>> 0;
      const count = this.#options.packetsPerFrame[layer.index];
      for (let i = 0; i < count; i++) {
        const sequenceNumber = layer.sequenceNumber;
        layer.sequenceNumber = (sequenceNumber + 1) & 0xffff;
        const payload = this.#payload(layer, sequenceNumber, i === 0, keyframe, temporalId);
        const marker = i === count - 1;
        layer.history.set(sequenceNumber, { payload, timestamp, marker });
        if (layer.history.size > RTX_HISTORY) layer.history.delete(layer.history.keys().next().value!);
        layer.packetsSent++;
        if (this.dropFirstTransmission?.(layer, sequenceNumber)) {
          layer.dropped.push(sequenceNumber);
          continue;
        }
        const extensions = layer.acked ? [] : [this.#extension(RTP_EXTENSION_URI.sdesMid, layer.mid), this.#extension(RTP_EXTENSION_URI.sdesRTPStreamID, layer.rid)];
        const header = new RtpHeader({ payloadType: PayloadType.vp8, sequenceNumber, timestamp, ssrc: layer.ssrc, marker, extensions });
        void this.#dtls!.sendRtp(payload, header);
      }
    }
  }

  /**
   * VP8 payload descriptor (RFC 7741 §4.2) as Chromium writes it with temporal layers, plus K/KEYIDX:
   * X=1, S on a frame's first packet, PID 0; I=L=T=K=1; M=1 and a 15-bit PictureID; TL0PICIDX; TID|Y|KEYIDX.
   * Then one byte (the payload header on the first packet: P=0 on a key frame, §4.3), the tag, a NUL, padding.
   */
  #payload(layer: SentLayer, sequenceNumber: number, first: boolean, keyframe: boolean, temporalId: number): Buffer {
    const payload = Buffer.alloc(this.#options.payloadBytes, TAG_END);
    payload[0] = 0x80 | (first ? 0x10 : 0);
    payload[1] = 0x80 | 0x40 | 0x20 | 0x10;
    payload[2] = 0x80 | (layer.pictureId >> 8);
    payload[3] = layer.pictureId & 0xff;
    payload[4] = layer.tl0PicIdx;
    // Y (layer sync) on frames that refer to TL0 frames only: TID 0, and the TID 2 and TID 1 frames right after one.
    const sync = temporalId === 0 || layer.framesSinceKey % TEMPORAL_PATTERN.length <= 2;
    payload[5] = (temporalId << 6) | (sync ? 0x20 : 0) | layer.keyIdx;
    payload[6] = first ? (keyframe ? 0x10 : 0x11) : 0x11; // show_frame = 1; P bit
    payload.write(`cam${layer.camera}/${layer.rid}#${sequenceNumber}`, 7, 'latin1');
    return payload;
  }

  #extension(uri: string, value: string): { id: number; payload: Buffer } {
    return { id: this.#extensionIds.get(uri)!, payload: Buffer.from(value) };
  }

  #onRtcp(packet: RtcpPacket): void {
    if (this.#closed) return;
    if (packet.type === RtcpRrPacket.type || packet.type === RtcpSrPacket.type) {
      for (const report of (packet as RtcpRrPacket | RtcpSrPacket).reports) {
        for (const layer of this.layers) {
          if (report.ssrc === layer.ssrc) layer.acked = true;
          if (report.ssrc === layer.rtxSsrc) layer.rtxAcked = true;
        }
      }
    } else if (packet.type === RtcpPayloadSpecificFeedback.type) {
      const feedback = (packet as RtcpPayloadSpecificFeedback).feedback;
      if (!(feedback instanceof PictureLossIndication)) return;
      this.pliSsrcs.push(feedback.mediaSsrc);
      const layer = this.layers.find((l) => l.ssrc === feedback.mediaSsrc);
      if (!layer) return;
      layer.plis++;
      layer.forceKeyframe = true; // as libwebrtc: a key frame on that layer only
    } else if (packet.type === RtcpTransportLayerFeedback.type) {
      const feedback = (packet as RtcpTransportLayerFeedback).feedback;
      if (!(feedback instanceof GenericNack)) return;
      const layer = this.layers.find((l) => l.ssrc === feedback.mediaSourceSsrc);
      if (!layer) return;
      for (const lost of feedback.lost) {
        layer.nacked.push(lost);
        this.#retransmit(layer, lost);
      }
    }
  }

  /** RFC 4588 §4: the RTX payload is the original sequence number, then the original payload. */
  #retransmit(layer: SentLayer, sequenceNumber: number): void {
    const original = layer.history.get(sequenceNumber);
    if (!original) return;
    const payload = Buffer.alloc(2 + original.payload.length);
    payload.writeUInt16BE(sequenceNumber, 0);
    original.payload.copy(payload, 2);
    const extensions = layer.rtxAcked
      ? []
      : [this.#extension(RTP_EXTENSION_URI.sdesMid, layer.mid), this.#extension(RTP_EXTENSION_URI.repairedRtpStreamId, layer.rid)];
    const header = new RtpHeader({
      payloadType: PayloadType.vp8Rtx,
      sequenceNumber: layer.rtxSequenceNumber,
      timestamp: original.timestamp,
      ssrc: layer.rtxSsrc,
      marker: original.marker,
      extensions,
    });
    layer.rtxSequenceNumber = (layer.rtxSequenceNumber + 1) & 0xffff;
    layer.retransmissions++;
    void this.#dtls!.sendRtp(payload, header);
  }

  /** RFC 3550 §6.4.1: one Sender Report per layer that is being sent, its RTP time now on the layer's clock. */
  #sendSenderReports(): void {
    if (this.#closed || !this.#dtls) return;
    const ticks = Math.round((performance.now() - this.#startedAt) * 90);
    const reports = this.layers
      .filter((layer) => layer.sending)
      .map((layer) => {
        const senderInfo = new RtcpSenderInfo({ ntpTimestamp: ntpTime(), rtpTimestamp: (layer.timestampBase + ticks) >>> 0, packetCount: layer.packetsSent, octetCount: layer.packetsSent * this.#options.payloadBytes });
        return new RtcpSrPacket({ ssrc: layer.ssrc, senderInfo });
      });
    if (reports.length > 0) void this.#dtls.sendRtcp(reports).catch(() => undefined);
  }
}
