/**
 * Loss detection and NACK scheduling for one RTP stream the SFU receives (a publisher's video SSRC), without I/O:
 * the caller passes the clock in, sends the NACKs {@link NackGenerator.tick} returns as RTCP Generic NACK
 * (RFC 4585 §6.2.1), and asks for a key frame when it reports a loss that was not recovered in time.
 *
 * Sequence numbers are unwrapped once, as they arrive, into extended sequence numbers (RFC 3550 §A.1), and every
 * comparison uses those, so a wrap from 65535 to 0, with loss or reordering on either side, is an ordinary step.
 * Each missing packet is asked for again once per retry interval, a multiple of the round-trip time to the
 * publisher, at most `maxRetries` times and for at most `maxAgeMs`; then it is given up. A packet that arrives while
 * missing (late, or retransmitted over RTX and unwrapped by werift) counts as recovered.
 */

export interface NackGeneratorOptions {
  /** NACKs per missing packet before it is given up. */
  maxRetries: number;
  /** A packet missing for longer than this is given up: a key frame then repairs the picture sooner. */
  maxAgeMs: number;
  /** Missing packets tracked at once; a larger gap is not worth asking for packet by packet (a key frame is). */
  maxMissing: number;
  /** Wait after detection before the first NACK, so that a packet merely reordered is not asked for. */
  firstNackDelayMs: number;
  /** The retry interval is `rttFactor` × RTT (the retransmission needs one RTT plus the publisher's pacing)... */
  rttFactor: number;
  /** ...and never shorter than this (an RTT measured on loopback is well under a millisecond). */
  minRetryIntervalMs: number;
  /** RTT assumed until one is measured (libwebrtc's default, `kDefaultRttMs`). */
  defaultRttMs: number;
  /** A packet this far behind the newest is taken as the stream restarting, not as a late packet. */
  restartDistance: number;
}

export const nackGeneratorDefaults: NackGeneratorOptions = {
  maxRetries: 8,
  maxAgeMs: 1500,
  maxMissing: 512,
  firstNackDelayMs: 5,
  rttFactor: 1.25,
  minRetryIntervalMs: 20,
  defaultRttMs: 100,
  restartDistance: 8192,
};

export interface NackTick {
  /** 16-bit sequence numbers to NACK now, oldest first (in extended order, so 65535 comes before 0). */
  nack: number[];
  /** Packets given up since the last tick (retries or age exhausted, or too many missing at once). */
  gaveUp: number;
  /** Whether the publisher should be asked for a key frame: some loss will not be repaired by retransmission. */
  keyframe: boolean;
  /** When the next tick has something to do, or undefined when nothing is missing (no timer needed). */
  nextAt: number | undefined;
}

interface Missing {
  detectedAt: number;
  lastNackAt: number;
  tries: number;
}

const SEQ_SPACE = 0x1_0000;
/** Packets far behind the newest, in a row, that mean the stream restarted (RtpUnwrapper's RESYNC_AFTER_STALE is 64). */
const RESTART_RUN = 16;

export class NackGenerator {
  readonly #options: NackGeneratorOptions;
  /** Missing packets by extended sequence number; insertion order is ascending, so the first is the oldest. */
  readonly #missing = new Map<number, Missing>();
  /** Extended sequence number of the newest packet, or -1 before the first. */
  #highest = -1;
  /** Consecutive packets at least `restartDistance` behind the newest. */
  #farBehindRun = 0;
  #keyframeNeeded = false;
  #gaveUp = 0;
  /** Lifetime counts, for metrics and tests. */
  recovered = 0;
  unrecovered = 0;
  nacked = 0;

  constructor(options: Partial<NackGeneratorOptions> = {}) {
    this.#options = { ...nackGeneratorDefaults, ...options };
  }

  /** How many packets are missing and still being asked for. */
  get pending(): number {
    return this.#missing.size;
  }

  /** Whether a tick has something to do: packets to ask for, or a give-up to report. */
  get needsTick(): boolean {
    return this.#missing.size > 0 || this.#keyframeNeeded;
  }

  /** Extended sequence number of the newest packet received (-1 before the first). */
  get highest(): number {
    return this.#highest;
  }

  /** The interval between two NACKs of one packet at this RTT (undefined: not measured yet). */
  retryIntervalMs(rttMs: number | undefined): number {
    const rtt = rttMs === undefined || !Number.isFinite(rttMs) || rttMs < 0 ? this.#options.defaultRttMs : rttMs;
    return Math.max(this.#options.minRetryIntervalMs, rtt * this.#options.rttFactor);
  }

  /** Records the arrival of `sequenceNumber` (16 bits) at `now` (ms). Called for every packet: allocates only on loss. */
  push(sequenceNumber: number, now: number): void {
    if (this.#highest < 0) {
      // Start one cycle up, so that packets from just before the first one stay positive.
      this.#highest = SEQ_SPACE + sequenceNumber;
      return;
    }
    // Signed 16-bit distance from the newest packet (RFC 3550 §A.1's wrap test, in one step).
    const delta = (((sequenceNumber - this.#highest) & 0xffff) << 16) >> 16;
    if (delta > -this.#options.restartDistance) this.#farBehindRun = 0;
    if (delta === 1) {
      this.#highest++;
      return;
    }
    if (delta > 1) {
      this.#advance(this.#highest + delta, now);
      return;
    }
    if (delta === 0) return; // a duplicate of the newest
    if (this.#missing.delete(this.#highest + delta)) {
      this.recovered++;
      return;
    }
    // Late, a duplicate, or already given up; unless so far behind, RESTART_RUN times in a row, that the publisher
    // must have restarted the stream (one stray old packet, a very late retransmission, is only ignored).
    if (-delta < this.#options.restartDistance) return;
    if (++this.#farBehindRun >= RESTART_RUN) this.#restart(sequenceNumber);
  }

  /**
   * Called when the timer fires: returns the sequence numbers due for a NACK now (each NACK counts as a try)
   * and gives up the packets whose retries or age are exhausted.
   */
  tick(now: number, rttMs: number | undefined): NackTick {
    const interval = this.retryIntervalMs(rttMs);
    const { maxRetries, maxAgeMs, firstNackDelayMs } = this.#options;
    const nack: number[] = [];
    let nextAt: number | undefined;
    for (const [extended, entry] of this.#missing) {
      const exhausted = entry.tries >= maxRetries;
      // The last NACK's retransmission gets one interval to arrive before the packet is given up.
      const giveUpAt = Math.min(entry.detectedAt + maxAgeMs, exhausted ? entry.lastNackAt + interval : Infinity);
      if (now >= giveUpAt) {
        this.#missing.delete(extended);
        this.#giveUp(1);
        continue;
      }
      let dueAt = exhausted ? Infinity : entry.tries === 0 ? entry.detectedAt + firstNackDelayMs : entry.lastNackAt + interval;
      if (now >= dueAt) {
        nack.push(extended & 0xffff);
        entry.tries++;
        entry.lastNackAt = now;
        dueAt = entry.tries >= maxRetries ? Infinity : now + interval;
      }
      const next = Math.min(dueAt, entry.tries >= maxRetries ? entry.lastNackAt + interval : Infinity, entry.detectedAt + maxAgeMs);
      if (nextAt === undefined || next < nextAt) nextAt = next;
    }
    this.nacked += nack.length;
    const result: NackTick = { nack, gaveUp: this.#gaveUp, keyframe: this.#keyframeNeeded, nextAt };
    this.#gaveUp = 0;
    this.#keyframeNeeded = false;
    return result;
  }

  /** Forgets every missing packet (the stream ended): nothing is left to ask for. */
  clear(): void {
    this.#missing.clear();
    this.#gaveUp = 0;
    this.#keyframeNeeded = false;
  }

  /** A gap before `extended` (the new newest): records the packets in it as missing, within `maxMissing`. */
  #advance(extended: number, now: number): void {
    const first = this.#highest + 1;
    const gap = extended - first;
    this.#highest = extended;
    const { maxMissing } = this.#options;
    if (gap > maxMissing) {
      // Too many to ask for one by one (libwebrtc's NackRequester does the same past kMaxNackPackets).
      this.#giveUp(this.#missing.size + gap);
      this.#missing.clear();
      return;
    }
    const overflow = this.#missing.size + gap - maxMissing;
    if (overflow > 0) {
      let left = overflow;
      for (const key of this.#missing.keys()) {
        this.#missing.delete(key);
        if (--left === 0) break;
      }
      this.#giveUp(overflow);
    }
    for (let seq = first; seq < extended; seq++) this.#missing.set(seq, { detectedAt: now, lastNackAt: now, tries: 0 });
  }

  #restart(sequenceNumber: number): void {
    this.#giveUp(this.#missing.size);
    this.#missing.clear();
    this.#highest = SEQ_SPACE + sequenceNumber;
    this.#farBehindRun = 0;
  }

  #giveUp(count: number): void {
    if (count <= 0) return;
    this.#gaveUp += count;
    this.unrecovered += count;
    this.#keyframeNeeded = true;
  }
}
