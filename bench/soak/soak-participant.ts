import type { RTCPeerConnection } from 'werift';
import { Bot } from '../../test/helpers/bot.js';
import type { DataLedger, DataReceiver } from './data-ledger.js';
import type { DeliveryLedger, PublishedTrack } from './delivery-ledger.js';
import { STAMP_BYTES } from './media-stamp.js';

export interface ParticipantPlan {
  room: string;
  identity: string;
  /** Which time this identity joins (0 first, 1 after its first leave, ...). */
  incarnation: number;
  video: boolean;
  /** Video RTP packets per second (at 30 frames/s); audio is 50 packets/s. */
  videoPps: number;
  /** First RTP sequence number of its sources; near 65535 to make the 16-bit wrap come within seconds. */
  firstSequenceNumber: number;
  dataIntervalMs: number;
}

/**
 * One stay of one participant in a soak room: a werift bot that joins, publishes audio (and video) stamped for
 * the delivery ledger, subscribes to everything, sends a reliable data message every `dataIntervalMs`, and
 * leaves. Every subscriber offer's tracks are announced to the ledger, so a subscription that never starts is
 * seen too.
 */
export class SoakParticipant {
  readonly key: string;
  #bot?: Bot;
  #tracks: PublishedTrack[] = [];
  #dataTimer?: NodeJS.Timeout;
  #receiver?: DataReceiver;
  #sentData = 0;
  #closed = false;
  /** Signaling errors this participant was sent, and connections that failed while it was in the room. */
  readonly problems: string[] = [];
  /** Its connections and negotiation as they were when it left (for the report of a bad window). */
  stateAtLeave = 'never joined';
  /** The most m-lines a subscriber offer to it had (grows with churn when m-lines are never reused). */
  maxOfferMLines = 0;

  constructor(
    readonly plan: ParticipantPlan,
    private readonly media: DeliveryLedger,
    private readonly data: DataLedger,
  ) {
    this.key = `${plan.room}/${plan.identity}#${plan.incarnation}`;
  }

  async join(signalingUrl: string): Promise<void> {
    const { plan, media, key } = this;
    const bot = (this.#bot = await Bot.join(signalingUrl, plan.room, plan.identity, undefined, {
      onRtp: (packet) => media.receive(key, packet.payload, performance.now()),
    }));
    bot.signaling.socket.on('message', (raw) => {
      const message = JSON.parse(raw.toString()) as { type: string; sdp?: string; tracks?: Record<string, string>; code?: string; message?: string; requestType?: string };
      if (message.type === 'error') this.problems.push(`${key}: signaling error ${message.code} (${message.requestType ?? '-'}): ${message.message}`);
      if (message.type !== 'subscriberOffer' || !message.tracks) return;
      const now = performance.now();
      this.maxOfferMLines = Math.max(this.maxOfferMLines, message.sdp?.match(/^m=/gm)?.length ?? 0);
      for (const trackId of Object.values(message.tracks)) media.announce(key, trackId, now);
    });
    this.#watch('subscriber', bot.subscriber);
    const receiver = (this.#receiver = this.data.addReceiver(plan.room, key, function* () {
      for (const message of bot.data) if (message.reliable) yield message.text;
    }));
    void bot.dataReady(30_000).then(
      () => {
        if (this.#closed) return;
        receiver.openAt = performance.now();
        this.#dataTimer = setInterval(() => this.#sendData(), plan.dataIntervalMs);
      },
      () => {
        if (!this.#closed) this.problems.push(`${key}: data channels did not open`); // and it counts as no receiver
      },
    );
    const labels = { video: plan.video ? media.addTrack(`${key}:video`, 'video') : undefined, audio: media.addTrack(`${key}:audio`, 'audio') };
    this.#tracks = [labels.audio, ...(labels.video ? [labels.video] : [])];
    // Packets of ~316 bytes: the packet rate is what costs the SFU; small payloads keep 15+ bots cheap on two cores.
    const videoPacketsPerFrame = Math.max(1, Math.round(plan.videoPps / 30));
    const publishing = bot.publish({
      video: plan.video,
      audio: true,
      videoKbps: Math.max(((STAMP_BYTES + 300) * videoPacketsPerFrame * 30 * 8) / 1000, 100),
      videoPacketsPerFrame,
      firstSequenceNumber: plan.firstSequenceNumber,
      stamp: (kind, payload) => {
        const track = labels[kind];
        if (track && !this.#closed) media.stamp(track, payload, performance.now());
      },
    });
    void publishing.then(() => bot.publisher && this.#watch('publisher', bot.publisher));
    await publishing;
    // The answer names each track with its kind: tie the SFU's ids to the ledger's tracks.
    const answer = [...bot.signaling.messages].reverse().find((m) => m.type === 'publishAnswer') as { tracks: { trackId: string; kind: string }[] } | undefined;
    for (const track of answer?.tracks ?? []) {
      const ledgerTrack = track.kind === 'video' ? labels.video : labels.audio;
      if (ledgerTrack) ledgerTrack.trackId = track.trackId;
    }
  }

  /** Leaves (closes both peer connections and the signaling socket); idempotent. */
  async leave(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#dataTimer);
    const bot = this.#bot;
    if (bot) {
      const offers = bot.signaling.messages.filter((m) => m.type === 'subscriberOffer').length;
      this.stateAtLeave = `subscriber ${bot.subscriber.connectionState}, publisher ${bot.publisher?.connectionState ?? '-'}, ${offers} subscriber offers, data ${bot.channels.reliable.readyState}`;
    }
    const now = performance.now();
    for (const track of this.#tracks) this.media.stopTrack(track, now);
    this.media.leave(this.key, now);
    if (this.#receiver) this.#receiver.leftAt = now;
    await this.#bot?.close();
  }

  /** A connection that fails, drops or closes while the participant is in the room is a problem to report. */
  #watch(name: string, pc: RTCPeerConnection): void {
    pc.connectionStateChange.subscribe((state) => {
      if (!this.#closed && (state === 'failed' || state === 'disconnected' || state === 'closed')) this.problems.push(`${this.key}: ${name} connection ${state}`);
    });
  }

  #sendData(): void {
    const bot = this.#bot;
    if (!bot || this.#closed) return;
    const text = `soak:${this.key}:${this.#sentData++}`;
    bot.sendData(text);
    this.data.sent(this.plan.room, this.key, text, performance.now());
    bot.sendData(text, { reliable: false }); // lossy channel: exercised, not counted
  }
}
