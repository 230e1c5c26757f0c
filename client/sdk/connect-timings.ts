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
  type Stat = { id: string; type: string; selectedCandidatePairId?: string; nominated?: boolean; state?: string; localCandidateId?: string; candidateType?: string };
  const byId = new Map<string, Stat>();
  (await pc.getStats()).forEach((s: Stat) => byId.set(s.id, s));
  const stats = [...byId.values()];
  // After an ICE restart the old nominated pair is still listed: the transport names the one in use.
  const pairId =
    stats.find((s) => s.type === 'transport' && s.selectedCandidatePairId)?.selectedCandidatePairId ??
    stats.find((s) => s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded')?.id;
  const local = byId.get(byId.get(pairId ?? '')?.localCandidateId ?? '');
  return local?.candidateType !== undefined && CANDIDATE_TYPES.has(local.candidateType) ? (local.candidateType as CandidateType) : undefined;
}

function roundMs(ms: number): number {
  return Math.min(600_000, Math.max(0, Math.round(ms * 10) / 10));
}
