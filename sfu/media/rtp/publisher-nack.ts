import { performance } from 'node:perf_hooks';
import type { RTCRtpReceiver, RtpPacket } from 'werift';
import type { SfuMetrics } from '../../sfu-metrics.js';
import { encodeGenericNacks } from './generic-nack.js';
import { NackGenerator, nackGeneratorDefaults, type NackGeneratorOptions } from './nack-generator.js';

/*
 * The werift internals (0.25.2) this file relies on, kept in one place:
 * - `receiver.nack` is the receiver's NackHandler (webrtc/src/media/receiver/nack.js). `RTCRtpReceiver.handleRTP`
 *   calls `receiver.nack.addPacket(packet)` for every video packet when the first codec negotiated NACK, after it
 *   has unwrapped RTX, so a retransmission arrives here with its original SSRC and sequence number (the same
 *   packet then goes to the track's `onReceiveRtp`); `receiver.stop()` calls `receiver.nack.close()`. We close
 *   werift's handler (which clears its 5 ms interval) and put ours in its place.
 * - `receiver.rtcpSsrc` is the SSRC werift puts as sender on the receiver's RTCP.
 * - `receiver.dtlsTransport.sendRtcp(packets)` encrypts the concatenation of each `packet.serialize()` as one
 *   SRTCP packet and sends it (it asks nothing else of the objects it is given).
 * - `receiver.dtlsTransport.iceTransport.connection.nominated.rtt` is the selected candidate pair's RTT in seconds.
 *
 * Which RTT: what werift lets us measure to a publisher. The SFU only receives on a publisher connection, so the
 * publisher sends no report blocks about us (no SR/RR LSR echo to time). RTCP XR RRTR/DLRR (RFC 3611 §4.4–4.5)
 * would work with Chromium, which answers an RRTR with a DLRR, but werift's RTCP parser drops XR packets
 * (RtcpPacketConverter knows SR, RR, SDES, RTPFB and PSFB only), and a werift publisher would not answer. The ICE
 * agent, however, times its STUN requests on the selected pair: the connectivity check, then an RFC 7675 consent
 * check every 4–6 s, on every connection and with every client. That is the network RTT (not the publisher's
 * processing time, which the retry interval's `rttFactor` margin covers), refreshed often enough for a lesson.
 * Until the first measurement the generator assumes libwebrtc's 100 ms.
 */
interface WeriftReceiverInternals {
  nack?: { close(): void };
  rtcpSsrc: number;
  dtlsTransport?: {
    sendRtcp(packets: { serialize(): Buffer }[]): Promise<unknown>;
    iceTransport?: { connection?: { nominated?: { rtt?: number } } };
  };
}

/** What werift calls on `receiver.nack`. */
interface WeriftNackHandler {
  addPacket(packet: RtpPacket): void;
  close(): void;
}

export interface PublisherNackOptions {
  metrics: Pick<SfuMetrics, 'publisherNacksSent' | 'publisherLostPackets' | 'publisherNackTimers'>;
  /** Called (at most once per tick) when a loss was given up: the track should ask for a key frame. */
  onUnrecoveredLoss: (ssrc: number) => void;
  generator?: Partial<NackGeneratorOptions>;
  /** Milliseconds clock; default `performance.now`. */
  now?: () => number;
}

/** SSRCs followed per receiver: simulcast layers (≤ 3) plus a few stream restarts. */
const MAX_STREAMS = 8;
const ignore = () => undefined;

/**
 * Receiver-side NACKs for one published video receiver (all its SSRCs, e.g. simulcast layers), in place of
 * werift's NackHandler. One timer, armed on the first loss to when the next NACK or give-up is due, stopped when
 * nothing is missing and on close; each tick sends one Generic NACK per SSRC with losses due.
 */
export class PublisherNack implements WeriftNackHandler {
  readonly #receiver: WeriftReceiverInternals;
  readonly #options: PublisherNackOptions;
  readonly #now: () => number;
  readonly #generators = new Map<number, NackGenerator>();
  readonly #recoveredReported = new Map<NackGenerator, number>();
  #lastSsrc = -1;
  #last: NackGenerator | undefined;
  readonly #firstNackDelayMs: number;
  #timer: NodeJS.Timeout | undefined;
  #timerAt = 0;
  /** Whether this instance is counted in the running-timers gauge. */
  #counted = false;
  #closed = false;

  private constructor(receiver: RTCRtpReceiver, options: PublisherNackOptions) {
    this.#receiver = receiver as unknown as WeriftReceiverInternals;
    this.#options = options;
    this.#now = options.now ?? (() => performance.now());
    this.#firstNackDelayMs = options.generator?.firstNackDelayMs ?? nackGeneratorDefaults.firstNackDelayMs;
  }

  /** Replaces werift's NACK generator on `receiver` with ours. */
  static attach(receiver: RTCRtpReceiver, options: PublisherNackOptions): PublisherNack {
    const internals = receiver as unknown as WeriftReceiverInternals;
    internals.nack?.close();
    const nack = new PublisherNack(receiver, options);
    internals.nack = nack;
    return nack;
  }

  /** Missing packets being asked for, over all SSRCs. */
  get pending(): number {
    let pending = 0;
    for (const generator of this.#generators.values()) pending += generator.pending;
    return pending;
  }

  /** Whether a NACK timer is armed. */
  get timerRunning(): boolean {
    return this.#timer !== undefined;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Called by werift for every video packet of the receiver, retransmissions included (see above). */
  addPacket(packet: RtpPacket): void {
    if (this.#closed) return;
    const { ssrc, sequenceNumber } = packet.header;
    const generator = ssrc === this.#lastSsrc ? this.#last! : this.#generatorFor(ssrc);
    const before = generator.pending;
    const now = this.#now();
    generator.push(sequenceNumber, now);
    const after = generator.pending;
    if (after < before) {
      this.#reportRecovered(generator);
      if (after === 0 && !this.#anyNeedsTick()) this.#stop();
    } else if (generator.needsTick) {
      // A new loss: its first NACK is due `firstNackDelayMs` from now, maybe before the armed tick.
      const dueAt = now + this.#firstNackDelayMs;
      if (this.#timer === undefined || dueAt < this.#timerAt) this.#arm(dueAt, now);
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#stop();
    for (const generator of this.#generators.values()) generator.clear();
    this.#generators.clear();
    this.#recoveredReported.clear();
    this.#last = undefined;
  }

  #generatorFor(ssrc: number): NackGenerator {
    let generator = this.#generators.get(ssrc);
    if (!generator) {
      if (this.#generators.size >= MAX_STREAMS) {
        const [oldestSsrc, oldest] = this.#generators.entries().next().value as [number, NackGenerator];
        this.#generators.delete(oldestSsrc);
        this.#recoveredReported.delete(oldest);
      }
      generator = new NackGenerator(this.#options.generator);
      this.#generators.set(ssrc, generator);
      this.#recoveredReported.set(generator, 0);
    }
    this.#lastSsrc = ssrc;
    this.#last = generator;
    return generator;
  }

  #anyNeedsTick(): boolean {
    for (const generator of this.#generators.values()) if (generator.needsTick) return true;
    return false;
  }

  #reportRecovered(generator: NackGenerator): void {
    const reported = this.#recoveredReported.get(generator) ?? 0;
    if (generator.recovered > reported) {
      this.#options.metrics.publisherLostPackets.inc({ result: 'recovered' }, generator.recovered - reported);
      this.#recoveredReported.set(generator, generator.recovered);
    }
  }

  #arm(at: number, now: number): void {
    clearTimeout(this.#timer);
    this.#timerAt = at;
    this.#timer = setTimeout(this.#onTimer, Math.max(1, at - now));
    if (!this.#counted) {
      this.#counted = true;
      this.#options.metrics.publisherNackTimers.inc();
    }
  }

  #stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#counted) {
      this.#counted = false;
      this.#options.metrics.publisherNackTimers.dec();
    }
  }

  #rttMs(): number | undefined {
    const rtt = this.#receiver.dtlsTransport?.iceTransport?.connection?.nominated?.rtt;
    return rtt !== undefined && rtt > 0 ? rtt * 1000 : undefined;
  }

  readonly #onTimer = (): void => {
    if (this.#closed) return;
    const now = this.#now();
    const rtt = this.#rttMs();
    const packets: Buffer[] = [];
    /** SSRCs (simulcast layers) that lost a packet for good: each needs a key frame. */
    const keyframes: number[] = [];
    let gaveUp = 0;
    let nextAt: number | undefined;
    for (const [ssrc, generator] of this.#generators) {
      const tick = generator.tick(now, rtt);
      if (tick.nack.length > 0) packets.push(...encodeGenericNacks(this.#receiver.rtcpSsrc, ssrc, tick.nack));
      gaveUp += tick.gaveUp;
      if (tick.keyframe) keyframes.push(ssrc);
      if (tick.nextAt !== undefined && (nextAt === undefined || tick.nextAt < nextAt)) nextAt = tick.nextAt;
    }
    const { metrics } = this.#options;
    const dtls = this.#receiver.dtlsTransport;
    if (packets.length > 0 && dtls) {
      metrics.publisherNacksSent.inc(packets.length);
      // One SRTCP packet per NACK, not a compound: werift's parser (0.25.2) reads a Generic NACK's FCI to the end
      // of the compound, so a werift publisher would take the packets after it for more lost sequence numbers.
      for (const packet of packets) dtls.sendRtcp([{ serialize: () => packet }]).catch(ignore);
    }
    if (gaveUp > 0) metrics.publisherLostPackets.inc({ result: 'unrecovered' }, gaveUp);
    this.#timer = undefined; // it has fired
    if (nextAt === undefined) this.#stop();
    else this.#arm(nextAt, now);
    for (const ssrc of keyframes) this.#options.onUnrecoveredLoss(ssrc);
  };
}
