import { DELTA_TICK_US, NOT_RECEIVED, REFERENCE_TIME_UNIT_US, type TransportFeedback } from '../media/transport-cc/feedback-types.js';
import { DelayTrend, Usage } from './delay-trend.js';
import type { SentPackets } from './sent-packets.js';

/** On over-use the estimate drops to this share of what the subscriber acknowledged receiving (GCC's beta). */
export const DECREASE_FACTOR = 0.85;
/** Without congestion it grows by this factor per second (GCC's multiplicative increase)... */
export const INCREASE_PER_SECOND = 1.08;
/** ...up to this multiple of the acknowledged rate plus 10 kbit/s: beyond that only a probe can show the room. */
export const ACKED_HEADROOM = 1.5;
/** Two decreases at least this far apart: the first one's effect must show first (about one RTT and a frame). */
export const DECREASE_INTERVAL_MS = 200;
/** Loss above this share of a second's packets cuts the estimate by half the loss (GCC's loss-based controller). */
export const HIGH_LOSS = 0.1;
/** A probe's result: its receive rate, when it is clearly below its send rate (the path's limit), times this. */
export const PROBE_BACKOFF = 0.95;
/** The acknowledged rate is measured over this window of arrival times... */
const ACKED_WINDOW_MS = 500;
/** ...and over no less than this span (a single feedback covers a few packets). */
const ACKED_MIN_SPAN_MS = 50;
/**
 * A delay-based cut takes the higher of the half-second rate and the rate over this much of the latest arrivals: when
 * a probe or a key frame's burst filled the queue, the link just delivered that burst's rate, while the half second
 * mostly shows what the SFU had to send (an estimate cut to 0.85 x that sat far under a 600 kbit/s link).
 */
const RECENT_ACKED_MS = 150;
const LOSS_WINDOW_MS = 1000;
/**
 * Feedback silent this long while media was sent: the path was down (a cut, a Wi-Fi handover, an ICE restart). What
 * was sent from the last feedback before the silence until the first after it and never arrived was lost to the
 * outage, not to a queue: counted as loss, it would cut the estimate and switch every camera down just as the path
 * came back.
 */
const OUTAGE_MS = 1000;
/** A probe cluster with fewer packets received tells nothing. */
const PROBE_MIN_PACKETS = 5;
/** A cluster not fully reported this long after it ended is given up. */
const PROBE_TIMEOUT_MS = 2000;

interface ClusterStats {
  firstSendMs: number;
  lastSendMs: number;
  firstArrivalMs: number;
  lastArrivalMs: number;
  bytes: number;
  firstBytes: number;
  lastBytes: number;
  packets: number;
  /** Received or reported lost. */
  reported: number;
}

interface ExpectedCluster {
  packets: number;
  endedAtMs: number;
}

/**
 * One subscriber connection's downlink estimate from its transport-wide feedback (docs/BANDWIDTH.md): GCC's
 * delay-based controller (DelayTrend, then AIMD on the acknowledged rate), its loss-based cut, and probe results.
 * Undefined until the first sign of a limit (over-use, heavy loss) or a probe: until then nothing is limited.
 */
export class SendSideEstimator {
  readonly #sent: SentPackets;
  readonly #trend = new DelayTrend();
  #estimate: number | undefined;
  #changedAtMs = -Infinity;
  #decreasedAtMs = -Infinity;
  /**
   * Bytes each feedback acknowledged, with the first and last arrival it reported (the subscriber's clock), inside
   * the acknowledged-rate window. Measured by arrival at the subscriber, not by when the feedback reached us: a
   * subscriber that sends its feedback late (a busy machine) still received at the rate it did.
   */
  readonly #acked: { firstArrivalMs: number; lastArrivalMs: number; bytes: number }[] = [];
  #ackedBytes = 0;
  readonly #lossWindow: { atMs: number; lost: number; received: number }[] = [];
  #lastFeedbackMs = -Infinity;
  /** The last outage (OUTAGE_MS): losses of what was sent during it are not counted. */
  #outage: { fromMs: number; toMs: number } | undefined;
  readonly #clusters = new Map<number, ClusterStats>();
  readonly #expected = new Map<number, ExpectedCluster>();
  /** Highest extended sequence number reported so far, so a packet reported twice counts once. */
  #highest = -1;
  #lastCongestionMs = -Infinity;

  constructor(sent: SentPackets) {
    this.#sent = sent;
  }

  /** Bits per second; undefined while nothing has shown a limit. */
  get estimateBps(): number | undefined {
    return this.#estimate;
  }

  /** When over-use or heavy loss last cut the estimate (performance.now() ms). */
  get lastCongestionMs(): number {
    return this.#lastCongestionMs;
  }

  /** The rate the subscriber acknowledged receiving over the last half second of arrivals (or since the first). */
  get ackedBps(): number {
    const acked = this.#acked;
    if (acked.length === 0) return 0;
    const span = acked[acked.length - 1].lastArrivalMs - acked[0].firstArrivalMs;
    return (this.#ackedBytes * 8000) / Math.max(ACKED_MIN_SPAN_MS, span);
  }

  /** The acknowledged rate over the latest RECENT_ACKED_MS of arrivals (whole feedback packets). */
  #recentAckedBps(): number {
    const acked = this.#acked;
    if (acked.length === 0) return 0;
    const newest = acked[acked.length - 1].lastArrivalMs;
    let bytes = 0;
    let first = newest;
    for (let i = acked.length - 1; i >= 0 && newest - acked[i].lastArrivalMs <= RECENT_ACKED_MS; i--) {
      bytes += acked[i].bytes;
      first = Math.min(first, acked[i].firstArrivalMs);
    }
    return (bytes * 8000) / Math.max(2 * ACKED_MIN_SPAN_MS, newest - first);
  }

  /**
   * One feedback packet. Returns the results of the probe clusters it completed: cluster → bps, or undefined
   * when the cluster told nothing (too few packets arrived, or it timed out).
   */
  onFeedback(feedback: TransportFeedback, nowMs: number): Map<number, number | undefined> {
    const sent = this.#sent;
    if (nowMs - this.#lastFeedbackMs > OUTAGE_MS && this.#lastFeedbackMs > -Infinity) this.#outage = { fromMs: this.#lastFeedbackMs, toMs: nowMs };
    this.#lastFeedbackMs = nowMs;
    const outage = this.#outage;
    let arrivalUs = feedback.referenceTime * REFERENCE_TIME_UNIT_US;
    let lost = 0;
    let received = 0;
    let ackedBytes = 0;
    let firstArrivalMs = Infinity;
    let lastArrivalMs = -Infinity;
    const deltas = feedback.receiveDeltas;
    const base = feedback.baseSequenceNumber;
    for (let i = 0; i < deltas.length; i++) {
      const sequence = (base + i) & 0xffff;
      const delta = deltas[i];
      if (delta !== NOT_RECEIVED) arrivalUs += delta * DELTA_TICK_US;
      if (!sent.has(sequence)) continue;
      const extended = this.#extend(sequence);
      if (extended <= this.#highest && delta === NOT_RECEIVED) continue;
      const cluster = sent.cluster(sequence);
      if (delta === NOT_RECEIVED) {
        const sentAtMs = sent.sentAtMs(sequence);
        if (outage !== undefined && sentAtMs >= outage.fromMs - OUTAGE_MS && sentAtMs < outage.toMs) continue;
        lost++;
        if (cluster >= 0) this.#cluster(cluster).reported++;
        continue;
      }
      if (extended > this.#highest) this.#highest = extended;
      received++;
      const sendMs = sent.sentAtMs(sequence);
      const bytes = sent.bytes(sequence);
      const arrivalMs = arrivalUs / 1000;
      ackedBytes += bytes;
      if (arrivalMs < firstArrivalMs) firstArrivalMs = arrivalMs;
      if (arrivalMs > lastArrivalMs) lastArrivalMs = arrivalMs;
      this.#trend.add(sendMs, arrivalMs, nowMs);
      if (cluster >= 0) this.#addToCluster(cluster, sendMs, arrivalMs, bytes);
    }
    if (ackedBytes > 0) this.#addAcked(firstArrivalMs, lastArrivalMs, ackedBytes);
    this.#lossWindow.push({ atMs: nowMs, lost, received });
    this.#update(nowMs);
    const results = new Map<number, number | undefined>();
    for (const [cluster, expected] of this.#expected) {
      const stats = this.#clusters.get(cluster);
      const complete = stats !== undefined && stats.reported >= expected.packets;
      if (!complete && nowMs - expected.endedAtMs < PROBE_TIMEOUT_MS) continue;
      results.set(cluster, this.#clusterResult(cluster));
      this.#expected.delete(cluster);
      this.#clusters.delete(cluster);
    }
    return results;
  }

  /** The prober ended cluster `id` after `packets` packets: its result comes once all are reported. */
  expectCluster(id: number, packets: number, nowMs: number): void {
    this.#expected.set(id, { packets, endedAtMs: nowMs });
  }

  /** A probe cluster's result (bps) is known: it may raise the estimate, never lower it. */
  applyProbe(resultBps: number, nowMs: number): void {
    if (this.#estimate === undefined || resultBps > this.#estimate) {
      this.#estimate = resultBps;
      this.#changedAtMs = nowMs;
    }
  }

  #update(nowMs: number): void {
    const acked = this.ackedBps;
    const loss = this.#lossShare(nowMs);
    const usage = this.#trend.usage;
    const overusing = this.#trend.sustainedOveruse;
    // Loss cuts compound every DECREASE_INTERVAL_MS while a queue drains; what still arrives bounds them.
    const lossCap = loss > HIGH_LOSS ? Math.max((this.#estimate ?? acked) * (1 - 0.5 * loss), DECREASE_FACTOR * acked) : Infinity;
    if (overusing || (this.#estimate ?? Infinity) > lossCap) {
      if (nowMs - this.#decreasedAtMs < DECREASE_INTERVAL_MS || acked === 0) return;
      const byDelay = overusing ? DECREASE_FACTOR * Math.max(acked, this.#recentAckedBps()) : Infinity;
      this.#estimate = Math.max(Math.min(byDelay, lossCap, this.#estimate ?? Infinity), 10_000);
      this.#decreasedAtMs = nowMs;
      this.#changedAtMs = nowMs;
      this.#lastCongestionMs = nowMs;
      return;
    }
    // Under-use (a queue draining) and over-use not yet sustained hold the estimate, as GCC's hold state does.
    if (usage !== Usage.Normal || this.#estimate === undefined) {
      this.#changedAtMs = nowMs;
      return;
    }
    // Normal: grow, no further than the acknowledged rate (and heavy loss) allows.
    const seconds = Math.min(Math.max(nowMs - this.#changedAtMs, 0), 1000) / 1000;
    const grown = this.#estimate * INCREASE_PER_SECOND ** seconds;
    const cap = Math.min(ACKED_HEADROOM * acked + 10_000, lossCap);
    if (grown > this.#estimate && this.#estimate < cap) this.#estimate = Math.min(grown, cap);
    this.#changedAtMs = nowMs;
  }

  #extend(sequence: number): number {
    if (this.#highest < 0) return sequence;
    const cycle = this.#highest - (this.#highest & 0xffff);
    let extended = cycle + sequence;
    if (extended < this.#highest - 0x8000) extended += 0x10000;
    else if (extended > this.#highest + 0x8000) extended -= 0x10000;
    return extended;
  }

  /** Adds one feedback's acknowledged bytes and drops what arrived more than ACKED_WINDOW_MS before its last packet. */
  #addAcked(firstArrivalMs: number, lastArrivalMs: number, bytes: number): void {
    const acked = this.#acked;
    acked.push({ firstArrivalMs, lastArrivalMs, bytes });
    this.#ackedBytes += bytes;
    const newest = Math.max(lastArrivalMs, acked[acked.length - 2]?.lastArrivalMs ?? -Infinity);
    let drop = 0;
    while (drop < acked.length - 1 && newest - acked[drop].lastArrivalMs > ACKED_WINDOW_MS) this.#ackedBytes -= acked[drop++].bytes;
    if (drop > 0) acked.splice(0, drop);
  }

  #lossShare(nowMs: number): number {
    const window = this.#lossWindow;
    while (window.length > 0 && nowMs - window[0].atMs > LOSS_WINDOW_MS) window.shift();
    let lost = 0;
    let total = 0;
    for (const entry of window) {
      lost += entry.lost;
      total += entry.lost + entry.received;
    }
    return total < 20 ? 0 : lost / total;
  }

  #cluster(cluster: number): ClusterStats {
    let stats = this.#clusters.get(cluster);
    if (!stats) {
      stats = { firstSendMs: Infinity, lastSendMs: -Infinity, firstArrivalMs: Infinity, lastArrivalMs: -Infinity, bytes: 0, firstBytes: 0, lastBytes: 0, packets: 0, reported: 0 };
      this.#clusters.set(cluster, stats);
    }
    return stats;
  }

  #addToCluster(cluster: number, sendMs: number, arrivalMs: number, bytes: number): void {
    const stats = this.#cluster(cluster);
    stats.reported++;
    if (sendMs < stats.firstSendMs) stats.firstSendMs = sendMs;
    if (sendMs >= stats.lastSendMs) {
      stats.lastSendMs = sendMs;
      stats.lastBytes = bytes;
    }
    if (arrivalMs < stats.firstArrivalMs) {
      stats.firstArrivalMs = arrivalMs;
      stats.firstBytes = bytes;
    }
    if (arrivalMs > stats.lastArrivalMs) stats.lastArrivalMs = arrivalMs;
    stats.bytes += bytes;
    stats.packets++;
  }

  /** libwebrtc's ProbeBitrateEstimator: the lower of the send and receive rates, backed off when clearly limited. */
  #clusterResult(cluster: number): number | undefined {
    const s = this.#clusters.get(cluster);
    if (!s || s.packets < PROBE_MIN_PACKETS) return undefined;
    const sendMs = s.lastSendMs - s.firstSendMs;
    const receiveMs = s.lastArrivalMs - s.firstArrivalMs;
    if (sendMs <= 0 || receiveMs <= 0) return undefined;
    const sendBps = ((s.bytes - s.lastBytes) * 8000) / sendMs;
    const receiveBps = ((s.bytes - s.firstBytes) * 8000) / receiveMs;
    return receiveBps < 0.9 * sendBps ? PROBE_BACKOFF * receiveBps : Math.min(sendBps, receiveBps);
  }
}
