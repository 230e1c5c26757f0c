/**
 * Whether the path's queue is growing, from the send and arrival times of packets (GCC's delay-based detector,
 * draft-ietf-rmcat-gcc-02 §5, with the trendline filter and adaptive threshold libwebrtc uses instead of the
 * draft's Kalman filter). Constants are libwebrtc's (`trendline_estimator.cc`, `inter_arrival.cc`).
 */
export enum Usage {
  Normal = 0,
  Overusing = 1,
  Underusing = 2,
}

/** Packets sent within this long of a group's first one form one group (a frame's burst). */
const GROUP_SPAN_MS = 5;
/** A packet arriving this soon after the group's last one, with a negative delay change, joins the group (a burst). */
const BURST_ARRIVAL_MS = 5;
/** Points the trendline is fitted over. */
const WINDOW = 20;
/** Exponential smoothing of the accumulated delay. */
const SMOOTHING = 0.9;
/** The slope is scaled by this (and by the number of deltas, up to 60) before it is compared with the threshold. */
const THRESHOLD_GAIN = 4;
const MAX_DELTAS = 60;
/** Over the threshold for this long (and rising) is over-use. */
const OVERUSE_TIME_MS = 10;
/**
 * Over-use is acted on once it has lasted this long (arrival time). A subscriber on a busy machine stamps arrivals
 * late now and then: delay trends of 3-4 % lasting under 50 ms, with no queue behind them (docs/BANDWIDTH.md,
 * "Over-use that lasts"); a bottleneck's queue keeps growing until the sender slows down.
 */
export const SUSTAINED_OVERUSE_MS = 100;
const INITIAL_THRESHOLD = 12.5;
/** The threshold follows |trend| up slowly and down faster (k_u, k_d), within [6, 600]. */
const K_UP = 0.0087;
const K_DOWN = 0.039;
const MIN_THRESHOLD = 6;
const MAX_THRESHOLD = 600;
/** A trend this far past the threshold is an outlier the threshold does not adapt to. */
const MAX_ADAPT_OFFSET = 15;

interface Group {
  firstSendMs: number;
  lastSendMs: number;
  lastArrivalMs: number;
}

export class DelayTrend {
  #current?: Group;
  #previous?: Group;
  #firstArrivalMs = -1;
  #accumulated = 0;
  #smoothed = 0;
  #deltas = 0;
  readonly #x: number[] = [];
  readonly #y: number[] = [];
  #threshold = INITIAL_THRESHOLD;
  #thresholdUpdatedMs = -1;
  #overuseMs = -1;
  #overuseCount = 0;
  #previousTrend = 0;
  #usage = Usage.Normal;
  /** Arrival time of the group that started the current over-use, and of the latest group. */
  #overusingSinceMs = 0;
  #lastArrivalMs = 0;

  get usage(): Usage {
    return this.#usage;
  }

  /** Over-use that has lasted SUSTAINED_OVERUSE_MS of arrival time: a queue, not a late stamp. */
  get sustainedOveruse(): boolean {
    return this.#usage === Usage.Overusing && this.#lastArrivalMs - this.#overusingSinceMs >= SUSTAINED_OVERUSE_MS;
  }

  /** One packet the feedback says arrived, in send order; returns the usage after it. */
  add(sendMs: number, arrivalMs: number, nowMs: number): Usage {
    const group = this.#current;
    if (!group) {
      this.#current = { firstSendMs: sendMs, lastSendMs: sendMs, lastArrivalMs: arrivalMs };
      return this.#usage;
    }
    if (sendMs < group.firstSendMs) return this.#usage; // reordered across groups: ignored, as libwebrtc does
    if (this.#belongs(group, sendMs, arrivalMs)) {
      group.lastSendMs = Math.max(group.lastSendMs, sendMs);
      group.lastArrivalMs = Math.max(group.lastArrivalMs, arrivalMs);
      return this.#usage;
    }
    const previous = this.#previous;
    if (previous) {
      const sendDelta = group.lastSendMs - previous.lastSendMs;
      const arrivalDelta = group.lastArrivalMs - previous.lastArrivalMs;
      if (sendDelta >= 0 && arrivalDelta >= 0) this.#update(arrivalDelta - sendDelta, sendDelta, group.lastArrivalMs, nowMs);
    }
    this.#previous = group;
    this.#current = { firstSendMs: sendMs, lastSendMs: sendMs, lastArrivalMs: arrivalMs };
    return this.#usage;
  }

  #belongs(group: Group, sendMs: number, arrivalMs: number): boolean {
    if (sendMs - group.firstSendMs <= GROUP_SPAN_MS) return true;
    const arrivalDelta = arrivalMs - group.lastArrivalMs;
    const delayChange = arrivalDelta - (sendMs - group.lastSendMs);
    return arrivalDelta <= BURST_ARRIVAL_MS && delayChange < 0;
  }

  #update(delayDeltaMs: number, sendDeltaMs: number, arrivalMs: number, nowMs: number): void {
    if (this.#firstArrivalMs < 0) this.#firstArrivalMs = arrivalMs;
    this.#deltas = Math.min(this.#deltas + 1, 1000);
    this.#accumulated += delayDeltaMs;
    this.#smoothed = SMOOTHING * this.#smoothed + (1 - SMOOTHING) * this.#accumulated;
    this.#x.push(arrivalMs - this.#firstArrivalMs);
    this.#y.push(this.#smoothed);
    if (this.#x.length > WINDOW) {
      this.#x.shift();
      this.#y.shift();
    }
    const trend = this.#x.length === WINDOW ? slope(this.#x, this.#y) ?? this.#previousTrend : this.#previousTrend;
    this.#lastArrivalMs = arrivalMs;
    this.#detect(trend, sendDeltaMs, arrivalMs, nowMs);
  }

  #detect(trend: number, sendDeltaMs: number, arrivalMs: number, nowMs: number): void {
    const modified = Math.min(this.#deltas, MAX_DELTAS) * trend * THRESHOLD_GAIN;
    if (modified > this.#threshold) {
      this.#overuseMs = this.#overuseMs < 0 ? sendDeltaMs / 2 : this.#overuseMs + sendDeltaMs;
      this.#overuseCount++;
      if (this.#overuseMs > OVERUSE_TIME_MS && this.#overuseCount > 1 && trend >= this.#previousTrend) {
        this.#overuseMs = 0;
        this.#overuseCount = 0;
        if (this.#usage !== Usage.Overusing) this.#overusingSinceMs = arrivalMs;
        this.#usage = Usage.Overusing;
      }
    } else if (modified < -this.#threshold) {
      this.#overuseMs = -1;
      this.#overuseCount = 0;
      this.#usage = Usage.Underusing;
    } else {
      this.#overuseMs = -1;
      this.#overuseCount = 0;
      this.#usage = Usage.Normal;
    }
    this.#previousTrend = trend;
    this.#adaptThreshold(modified, nowMs);
  }

  #adaptThreshold(modified: number, nowMs: number): void {
    if (this.#thresholdUpdatedMs < 0) this.#thresholdUpdatedMs = nowMs;
    const magnitude = Math.abs(modified);
    if (magnitude > this.#threshold + MAX_ADAPT_OFFSET) {
      this.#thresholdUpdatedMs = nowMs;
      return;
    }
    const k = magnitude < this.#threshold ? K_DOWN : K_UP;
    const elapsed = Math.min(nowMs - this.#thresholdUpdatedMs, 100);
    this.#threshold += k * (magnitude - this.#threshold) * elapsed;
    this.#threshold = Math.min(MAX_THRESHOLD, Math.max(MIN_THRESHOLD, this.#threshold));
    this.#thresholdUpdatedMs = nowMs;
  }
}

/** Least-squares slope of y over x; undefined when x does not vary. */
function slope(x: readonly number[], y: readonly number[]): number | undefined {
  const n = x.length;
  let sx = 0;
  let sy = 0;
  for (let i = 0; i < n; i++) {
    sx += x[i];
    sy += y[i];
  }
  const mx = sx / n;
  const my = sy / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (x[i] - mx) * (y[i] - my);
    den += (x[i] - mx) * (x[i] - mx);
  }
  return den === 0 ? undefined : num / den;
}
