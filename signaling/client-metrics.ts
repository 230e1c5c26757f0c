import type { ClientMessageOf, PeerTargetName } from './messages.js';
import type { SignalingMetrics } from './signaling-metrics.js';

type Report = ClientMessageOf<'clientMetrics'>;
const PEERS: readonly PeerTargetName[] = ['publisher', 'subscriber'];

/**
 * One session's `clientMetrics` reports into the client histograms: each measurement at most once per session (a
 * client that repeats or floods reports cannot skew them). Returns what it counted, for the log line, or undefined.
 */
export class ClientMetricsRecorder {
  readonly #counted = new Set<string>();

  constructor(private readonly metrics: SignalingMetrics) {}

  record(report: Report): Record<string, unknown> | undefined {
    const counted: Record<string, unknown> = {};
    if (report.wsConnectMs !== undefined && this.#first('ws')) {
      this.metrics.clientWebsocketConnectSeconds.observe(report.wsConnectMs / 1000);
      counted.wsConnectMs = Math.round(report.wsConnectMs);
    }
    for (const peer of PEERS) {
      const ms = report.iceConnectMs?.[peer];
      if (ms !== undefined && this.#first(`ice:${peer}`)) {
        this.metrics.clientIceConnectSeconds.observe({ peer }, ms / 1000);
        counted[`${peer}IceConnectMs`] = Math.round(ms);
      }
      const candidateType = report.selectedCandidateType?.[peer];
      if (candidateType !== undefined && this.#first(`candidate:${peer}`)) {
        this.metrics.clientConnections.inc({ peer, candidate_type: candidateType });
        counted[`${peer}CandidateType`] = candidateType;
      }
    }
    return Object.keys(counted).length > 0 ? counted : undefined;
  }

  #first(key: string): boolean {
    if (this.#counted.has(key)) return false;
    this.#counted.add(key);
    return true;
  }
}
