import { SendSideEstimator } from '../../sfu/bwe/send-side-estimator.js';
import { SentPackets } from '../../sfu/bwe/sent-packets.js';
import { NOT_RECEIVED, type TransportFeedback } from '../../sfu/media/transport-cc/feedback-types.js';

/**
 * A fake clock, a bottleneck link and a transport-cc receiver, for the send-side estimator's unit tests: packets go
 * through a drop-tail queue served at `capacityBps`, after a fixed one-way delay, with optional random loss; the
 * receiver reports every packet in feedback every 50 ms, as libwebrtc does.
 */
export class LinkSimulator {
  readonly sent = new SentPackets();
  readonly estimator = new SendSideEstimator(this.sent);
  nowMs = 0;
  capacityBps: number;
  lossRate = 0;
  /** The queue holds at most this much delay; beyond it packets are dropped (a home router's buffer). */
  queueMs = 200;
  readonly #baseDelayMs = 20;
  #linkFreeAtMs = 0;
  /** Packets on their way: sequence number and arrival time (NaN: lost). */
  #inFlight: { sequence: number; arrivalMs: number }[] = [];
  #nextFeedbackMs = 50;
  #feedbackCount = 0;
  #seed = 12345;
  /** The receiver reports at most this many packets per feedback packet (more go in several, back to back). */
  maxPacketsPerFeedback = Infinity;
  #feedbackHeldUntilMs = -Infinity;
  /** The path is cut both ways: every packet sent is lost and no feedback comes back. */
  cut = false;
  /** Probe results the estimator reported. */
  readonly probeResults = new Map<number, number | undefined>();

  constructor(capacityBps: number) {
    this.capacityBps = capacityBps;
  }

  /** Sends one packet of `bytes` now. */
  send(bytes: number): void {
    const sequence = this.sent.record(this.nowMs);
    this.sent.setBytes(sequence, bytes, false);
    const start = Math.max(this.nowMs, this.#linkFreeAtMs);
    const lost = this.cut || start - this.nowMs > this.queueMs || this.#random() < this.lossRate;
    if (lost) {
      this.#inFlight.push({ sequence, arrivalMs: NaN });
      return;
    }
    this.#linkFreeAtMs = start + (bytes * 8 * 1000) / this.capacityBps;
    this.#inFlight.push({ sequence, arrivalMs: this.#linkFreeAtMs + this.#baseDelayMs });
  }

  /** The receiver sends no feedback for `ms` (a busy machine), then reports everything it held at once. */
  holdFeedback(ms: number): void {
    this.#feedbackHeldUntilMs = this.nowMs + ms;
  }

  /** Runs `ms` of time in 5 ms steps, sending at `sendBps(now)` in packets of `bytes`, feeding back every 50 ms. */
  run(ms: number, sendBps: (nowMs: number) => number, bytes = 1200): void {
    let credit = 0;
    for (const end = this.nowMs + ms; this.nowMs < end; this.nowMs += 5) {
      credit += (sendBps(this.nowMs) / 8000) * 5;
      while (credit >= bytes) {
        this.send(bytes);
        credit -= bytes;
      }
      if (this.nowMs >= this.#nextFeedbackMs && this.nowMs >= this.#feedbackHeldUntilMs) {
        if (!this.cut) this.#feedback();
        this.#nextFeedbackMs += 50;
      }
    }
  }

  /** Feedback on every packet that has arrived (or was lost before one that arrived), in the draft's form. */
  #feedback(): void {
    const arrived = this.#inFlight.filter((p) => Number.isNaN(p.arrivalMs) || p.arrivalMs <= this.nowMs);
    let lastArrived = -1;
    arrived.forEach((p, i) => {
      if (!Number.isNaN(p.arrivalMs)) lastArrived = i;
    });
    if (lastArrived < 0) return;
    const reported = arrived.slice(0, lastArrived + 1);
    const reportedSet = new Set(reported);
    this.#inFlight = this.#inFlight.filter((p) => !reportedSet.has(p));
    for (let i = 0; i < reported.length; i += this.maxPacketsPerFeedback) this.#feedbackPacket(reported.slice(i, i + this.maxPacketsPerFeedback));
  }

  #feedbackPacket(reported: { sequence: number; arrivalMs: number }[]): void {
    if (!reported.some((p) => !Number.isNaN(p.arrivalMs))) return;
    const firstArrival = reported.find((p) => !Number.isNaN(p.arrivalMs))!.arrivalMs;
    const referenceTime = Math.floor(firstArrival / 64);
    let previousUs = referenceTime * 64_000;
    const deltas = new Int32Array(reported.length);
    reported.forEach((p, i) => {
      if (Number.isNaN(p.arrivalMs)) {
        deltas[i] = NOT_RECEIVED;
        return;
      }
      const us = Math.round(p.arrivalMs * 1000);
      deltas[i] = Math.round((us - previousUs) / 250);
      previousUs += deltas[i] * 250;
    });
    const feedback: TransportFeedback = {
      senderSsrc: 1,
      mediaSsrc: 2,
      baseSequenceNumber: reported[0].sequence,
      referenceTime,
      feedbackPacketCount: this.#feedbackCount++ & 0xff,
      receiveDeltas: deltas,
    };
    for (const [cluster, result] of this.estimator.onFeedback(feedback, this.nowMs)) this.probeResults.set(cluster, result);
  }

  /** A deterministic uniform random number in [0, 1). */
  #random(): number {
    this.#seed = (this.#seed * 1103515245 + 12345) & 0x7fffffff;
    return this.#seed / 0x80000000;
  }
}
