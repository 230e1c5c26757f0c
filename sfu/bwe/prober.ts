import type { SendSideEstimator } from './send-side-estimator.js';
import type { SentPackets } from './sent-packets.js';

/** How long one probe cluster lasts: long enough for 5 ms timer ticks to pace it, short enough to queue little. */
export const PROBE_DURATION_MS = 100;
const TICK_MS = 5;
/** Padding packets at most per tick, however far behind the probe is. */
const MAX_PACKETS_PER_TICK = 32;
/** Bytes of padding per packet: the most RTP padding can say (RFC 3550 §5.1: the count is one octet). */
export const PADDING_BYTES = 255;

/** A probe succeeded when its result reached this share of its target. */
const PROBE_SUCCESS = 0.9;

/** Whether a probe toward `targetBps` that measured `resultBps` (undefined: it told nothing) succeeded. */
export function probeSucceeded(targetBps: number, resultBps: number | undefined): boolean {
  return resultBps !== undefined && resultBps >= PROBE_SUCCESS * targetBps;
}

/** Something that can put padding on the subscriber's connection (a video down track's RTX stream). */
export interface PaddingSource {
  /** Sends one padding-only packet; returns its size on the wire, 0 when it cannot send now. */
  sendPadding(paddingBytes: number): number;
}

/**
 * Probes one subscriber connection's downlink (docs/BANDWIDTH.md, "Probing"): for PROBE_DURATION_MS it adds
 * padding so that everything sent (media and padding, all in one probe cluster) reaches the target rate, then waits
 * for the cluster's feedback. The estimator turns that into a result, which may raise its estimate. One probe at a
 * time; a timer runs only while a cluster is being sent.
 */
export class Prober {
  readonly #sent: SentPackets;
  readonly #estimator: SendSideEstimator;
  readonly #source: () => PaddingSource | undefined;
  readonly #onResult: (targetBps: number, resultBps: number | undefined) => void;
  #nextId = 0;
  /** The cluster being sent or waited for. */
  #current?: { id: number; targetBps: number; startedAtMs: number; startBytes: number };
  #timer?: NodeJS.Timeout;
  #closed = false;

  constructor(
    sent: SentPackets,
    estimator: SendSideEstimator,
    source: () => PaddingSource | undefined,
    onResult: (targetBps: number, resultBps: number | undefined) => void,
  ) {
    this.#sent = sent;
    this.#estimator = estimator;
    this.#source = source;
    this.#onResult = onResult;
  }

  get probing(): boolean {
    return this.#current !== undefined;
  }

  /** Starts a probe at `targetBps`; false when one is under way or nothing can carry padding. */
  probe(targetBps: number, nowMs = performance.now()): boolean {
    if (this.#closed || this.#current || !this.#source()) return false;
    const id = this.#nextId;
    this.#nextId = (id + 1) & 0x7fff;
    this.#current = { id, targetBps, startedAtMs: nowMs, startBytes: this.#sent.totalBytes };
    this.#sent.startCluster(id);
    this.#tick();
    this.#timer = setInterval(() => this.#tick(), TICK_MS);
    return true;
  }

  /** Results from the estimator's latest feedback. */
  onResults(results: ReadonlyMap<number, number | undefined>, nowMs = performance.now()): void {
    const current = this.#current;
    if (!current || this.#timer || !results.has(current.id)) return;
    this.#current = undefined;
    const result = results.get(current.id);
    if (result !== undefined) this.#estimator.applyProbe(result, nowMs);
    this.#onResult(current.targetBps, result);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#stopSending();
    this.#current = undefined;
  }

  #tick(nowMs = performance.now()): void {
    const current = this.#current;
    if (!current) return;
    const elapsed = nowMs - current.startedAtMs;
    if (elapsed >= PROBE_DURATION_MS) {
      this.#stopSending();
      this.#estimator.expectCluster(current.id, this.#sent.endCluster(), nowMs);
      return;
    }
    const source = this.#source();
    if (!source) return;
    // Padding fills what media left of the target so far, one tick ahead.
    const due = (current.targetBps / 8000) * (elapsed + TICK_MS) - (this.#sent.totalBytes - current.startBytes);
    let sent = 0;
    for (let n = 0; n < MAX_PACKETS_PER_TICK && sent < due; n++) {
      const bytes = source.sendPadding(PADDING_BYTES);
      if (bytes === 0) break;
      sent += bytes;
    }
  }

  #stopSending(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
