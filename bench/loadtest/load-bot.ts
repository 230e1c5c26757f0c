import { Bot, type BotOptions } from '../../test/helpers/bot.js';
import { SimulcastPublisher } from '../../test/helpers/simulcast-publisher.js';
import type { BotResult, JoinRequest, PublishPlan } from './messages.js';
import { ReceiveCounter } from './receive-counter.js';

/** Bytes of each simulcast RTP payload: a layer's bitrate is then a whole number of packets per frame. */
const SIMULCAST_PAYLOAD_BYTES = 500;
const FRAMES_PER_SECOND = 30;

/**
 * One load-test participant: a werift Bot (or a simulcast publisher, which is a Bot with its own publisher
 * connection) that counts what it receives and keeps the timings of its join.
 */
export class LoadBot {
  readonly counter = new ReceiveCounter();
  /** When join() was called: the token is in hand, the WebSocket not yet opened. */
  #startedAt = performance.now();
  #joinedAt?: number;
  #publishedAt?: number;
  #bot?: Bot;
  #simulcast?: SimulcastPublisher;
  #closed = false;

  constructor(readonly request: JoinRequest) {}

  /** Joins (following redirects) and, for a publisher, publishes; throws what refused it. */
  async join(signalingUrl: string, token: string, plan: PublishPlan): Promise<void> {
    this.#startedAt = performance.now();
    const onRtp: BotOptions['onRtp'] = (packet) =>
      this.counter.onPacket(packet.header.ssrc, packet.header.sequenceNumber, packet.payload.length, performance.now());
    const { room, identity, role } = this.request;
    this.#bot = await Bot.join(signalingUrl, room, identity, undefined, { token, onRtp });
    this.#joinedAt = performance.now();
    if (this.#closed) return void (await this.#bot.close());
    if (role !== 'publisher') return;
    if (plan.simulcast) {
      const packetsPerFrame = plan.layersKbps.map((kbps) => Math.max(1, Math.round((kbps * 1000) / 8 / FRAMES_PER_SECOND / SIMULCAST_PAYLOAD_BYTES)));
      const rids = plan.layersKbps.map((_, i) => `l${i}`);
      this.#simulcast = await SimulcastPublisher.publishFrom(this.#bot, { rids, packetsPerFrame, payloadBytes: SIMULCAST_PAYLOAD_BYTES, microphone: true });
      if (this.#closed) await this.#simulcast.close();
    } else await this.#bot.publish({ video: !plan.audioOnly, audio: true, videoKbps: plan.videoKbps });
    this.#publishedAt = performance.now();
  }

  /** Resolves when the server closes the signaling socket (never, for a bot that has not joined). */
  get closedByServer(): Promise<{ code: number; reason: string }> {
    return this.#bot ? this.#bot.signaling.closed : new Promise(() => undefined);
  }

  /** Signaling messages received so far (`rtt`, `error`, …). */
  get messages(): readonly { type: string; [k: string]: unknown }[] {
    return this.#bot?.signaling.messages ?? [];
  }

  result(now: number): BotResult {
    const since = (t?: number) => (t === undefined ? undefined : t - this.#startedAt);
    const { counter } = this;
    return {
      index: this.request.index,
      role: this.request.role,
      joinMs: since(this.#joinedAt),
      publishedMs: since(this.#publishedAt),
      firstMediaMs: since(counter.firstPacketAt),
      rxBytes: counter.bytes,
      rxSeconds: counter.firstPacketAt === undefined ? 0 : (now - counter.firstPacketAt) / 1000,
      rxExpected: counter.expected,
      rxLost: counter.lost,
      rttsMs: this.messages.flatMap((m) => (m.type === 'rtt' ? [m.rttMs as number] : [])),
    };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await (this.#simulcast ?? this.#bot)?.close();
  }
}
