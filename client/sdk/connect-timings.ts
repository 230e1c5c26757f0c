import type { ClientMessageOf, PeerTargetName } from '../../signaling/messages.js';

type Report = ClientMessageOf<'clientMetrics'>;
type CandidateType = NonNullable<Report['selectedCandidateType']>['subscriber'];
const CANDIDATE_TYPES = new Set<string>(['host', 'srflx', 'prflx', 'relay']);

/**
 * Connect times as this client sees them, told to the server in `clientMetrics` (docs/PROTOCOL.md, "Client
 * metrics") for its histograms: the signaling socket's open time, and per peer connection the time from its first
 * negotiation to connected with the selected candidate pair's local type (relay: through TURN). One per session:
 * each value is sent once, when known; `send` drops what comes after the session ended.
 */
export class ConnectTimings {
  private readonly reported = new Set<PeerTargetName>();

  constructor(private readonly send: (report: Report) => void) {}

  websocketOpened(ms: number): void {
    this.send({ type: 'clientMetrics', wsConnectMs: roundMs(ms) });
  }

  /** The peer connection is connected for the first time, `ms` after its first negotiation began. */
  async iceConnected(peer: PeerTargetName, pc: RTCPeerConnection, ms: number): Promise<void> {
    if (this.reported.has(peer)) return;
    this.reported.add(peer);
    const candidateType = await selectedCandidateType(pc).catch(() => undefined);
    this.send({
      type: 'clientMetrics',
      iceConnectMs: { [peer]: roundMs(ms) },
      ...(candidateType ? { selectedCandidateType: { [peer]: candidateType } } : {}),
    });
  }
}

/** The local candidate type of the selected candidate pair (the transport's, else the nominated succeeded pair). */
export async function selectedCandidateType(pc: RTCPeerConnection): Promise<CandidateType | undefined> {
  const stats = await pc.getStats();
  let pairId: string | undefined;
  stats.forEach((s: { type: string; selectedCandidatePairId?: string }) => {
    if (s.type === 'transport' && s.selectedCandidatePairId) pairId ??= s.selectedCandidatePairId;
  });
  if (pairId === undefined) {
    stats.forEach((s: { type: string; id: string; nominated?: boolean; state?: string }) => {
      if (s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded') pairId ??= s.id;
    });
  }
  const pair = pairId === undefined ? undefined : (stats.get(pairId) as { localCandidateId?: string } | undefined);
  const local = pair?.localCandidateId === undefined ? undefined : (stats.get(pair.localCandidateId) as { candidateType?: string } | undefined);
  return local?.candidateType !== undefined && CANDIDATE_TYPES.has(local.candidateType) ? (local.candidateType as CandidateType) : undefined;
}

function roundMs(ms: number): number {
  return Math.min(600_000, Math.max(0, Math.round(ms * 10) / 10));
}
