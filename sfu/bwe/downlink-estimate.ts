import type { RTCDtlsTransport } from 'werift';
import { filterDecryptedRtcp } from '../media/rtp/werift-transport.js';
import { Prober, type PaddingSource } from './prober.js';
import { SendSideEstimator } from './send-side-estimator.js';
import { SentPackets } from './sent-packets.js';
import { readTransportFeedback } from './transport-feedback.js';

export interface DownlinkEstimateEvents {
  /** The estimate changed (bits per second). */
  onEstimate(bps: number): void;
  /** A probe ended: its result, or undefined when it told nothing. */
  onProbeResult(targetBps: number, resultBps: number | undefined): void;
  /** One feedback packet was read. */
  onFeedback(): void;
}

/**
 * One subscriber connection's downlink estimate (docs/BANDWIDTH.md): what was sent (SentPackets, fed by its down
 * tracks), the subscriber's transport-wide feedback read straight from the decrypted RTCP (werift never parses
 * it), the send-side estimator, and the prober.
 */
export class DownlinkEstimate {
  readonly sent = new SentPackets();
  readonly #estimator = new SendSideEstimator(this.sent);
  readonly #prober: Prober;
  readonly #stopFilter: () => void;
  #last: number | undefined;

  constructor(dtls: RTCDtlsTransport, paddingSource: () => PaddingSource | undefined, events: DownlinkEstimateEvents) {
    this.#prober = new Prober(this.sent, this.#estimator, paddingSource, (target, result) => {
      this.#changed(events);
      events.onProbeResult(target, result);
    });
    this.#stopFilter = filterDecryptedRtcp(dtls, (compound) =>
      readTransportFeedback(compound, (feedback) => {
        events.onFeedback();
        const now = performance.now();
        const results = this.#estimator.onFeedback(feedback, now);
        if (results.size > 0) this.#prober.onResults(results, now);
        this.#changed(events);
      }),
    );
  }

  get bps(): number | undefined {
    return this.#estimator.estimateBps;
  }

  get audioBytes(): number {
    return this.sent.audioBytes;
  }

  get probing(): boolean {
    return this.#prober.probing;
  }

  /** Starts a probe toward `targetBps`; false when one is under way or nothing can carry padding. */
  probe(targetBps: number): boolean {
    return this.#prober.probe(targetBps);
  }

  close(): void {
    this.#stopFilter();
    this.#prober.close();
  }

  #changed(events: DownlinkEstimateEvents): void {
    const bps = this.#estimator.estimateBps;
    if (bps === undefined || bps === this.#last) return;
    this.#last = bps;
    events.onEstimate(bps);
  }
}
