import {
  ConnectionQualityMonitor,
  type ConnectionQuality,
  type InboundRtpCounters,
  type LocalLinkSample,
  type ReceivedTrackSample,
} from './connection-quality.js';
import type { RemoteParticipant } from './participant.js';
import type { Publisher } from './publisher.js';
import { ReceivedVideoConditions } from './received-video-conditions.js';
import type { Subscriber } from './subscriber.js';

/** How often the connections' stats are read: LiveKit judges 5 s windows; 2 s shows a loss of media sooner. */
export const QUALITY_SAMPLE_INTERVAL_MS = 2000;

/** The room's connections, and what it knows that the stats do not: who is there, which track each m-line carries. */
export interface QualitySources {
  readonly localIdentity: string;
  readonly participants: ReadonlyMap<string, RemoteParticipant>;
  readonly subscriber: Pick<Subscriber, 'transport' | 'trackIdForMid'>;
  /** Its connection exists once something was published. */
  readonly publisher: Pick<Publisher, 'pc'>;
}

type Stats = Record<string, unknown>;

/**
 * The room's connection quality: reads both peer connections' stats every `intervalMs` (one timer, one read at a
 * time), maps each `inbound-rtp` to the participant whose track its m-line carries, and reports level changes.
 */
export class ConnectionQualitySampler {
  /** Fed by the room with the track settings it sends and the `trackState` messages it receives. */
  readonly conditions = new ReceivedVideoConditions();
  readonly #monitor = new ConnectionQualityMonitor();
  readonly #timer: ReturnType<typeof setInterval>;
  #reading = false;
  #stopped = false;

  constructor(
    private readonly sources: QualitySources,
    private readonly changed: (identity: string, quality: ConnectionQuality) => void,
    intervalMs = QUALITY_SAMPLE_INTERVAL_MS,
  ) {
    this.#timer = setInterval(() => void this.#sample(), intervalMs);
  }

  /** Undefined once stopped: nothing is judged any more. */
  quality(identity: string): ConnectionQuality | undefined {
    return this.#stopped ? undefined : this.#monitor.quality(identity);
  }

  /** A participant left: its level goes without an event. */
  forget(identity: string): void {
    this.#monitor.forget(identity);
  }

  /** Stops the timer; a read under way reports nothing. Idempotent. */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    clearInterval(this.#timer);
    this.conditions.clear();
  }

  async #sample(): Promise<void> {
    if (this.#reading || this.#stopped) return;
    this.#reading = true;
    try {
      const { subscriber, publisher } = this.sources;
      const publisherPc = publisher.pc;
      const [down, up] = await Promise.all([subscriber.transport.pc.getStats(), publisherPc?.getStats()]);
      if (this.#stopped) return;
      const now = performance.now();
      const changes = this.#monitor.update({
        atMs: now,
        localIdentity: this.sources.localIdentity,
        remoteIdentities: this.sources.participants.keys(),
        received: this.#received(down, now),
        local: readLocal(down, up, [subscriber.transport.pc, publisherPc]),
      });
      for (const [identity, quality] of changes) this.changed(identity, quality);
    } catch {
      // A connection closed during the read: the room is closing, or the next read gets it.
    } finally {
      this.#reading = false;
    }
  }

  /** Every track received now, with the `inbound-rtp` stats of its m-line (by mid, else by the receiver track's id). */
  #received(down: RTCStatsReport, now: number): ReceivedTrackSample[] {
    const byTrackId = new Map<string, ReceivedTrackSample>();
    const byReceiverTrack = new Map<string, ReceivedTrackSample>();
    for (const participant of this.sources.participants.values()) {
      for (const info of participant.tracks.values()) {
        if (info.track === undefined) continue;
        // A muted track sends nothing on purpose: not silent, not judged.
        this.conditions.setMuted(info.trackId, info.muted, now);
        const sample: ReceivedTrackSample = {
          trackId: info.trackId,
          identity: participant.identity,
          kind: info.kind,
          condition: this.conditions.condition(info.trackId, now),
          inbound: [],
        };
        byTrackId.set(info.trackId, sample);
        byReceiverTrack.set(info.track.id, sample);
      }
    }
    down.forEach((s: Stats) => {
      if (s.type !== 'inbound-rtp') return;
      const trackId = typeof s.mid === 'string' ? this.sources.subscriber.trackIdForMid(s.mid) : undefined;
      const sample = (trackId !== undefined ? byTrackId.get(trackId) : undefined) ?? byReceiverTrack.get(String(s.trackIdentifier));
      sample?.inbound.push(inboundCounters(s));
    });
    return [...byTrackId.values()];
  }
}

function inboundCounters(s: Stats): InboundRtpCounters {
  return {
    id: String(s.id),
    packetsReceived: num(s.packetsReceived) ?? 0,
    packetsLost: num(s.packetsLost) ?? 0,
    jitter: num(s.jitter),
    freezeCount: num(s.freezeCount),
    totalFreezesDuration: num(s.totalFreezesDuration),
  };
}

/** The subscriber's selected candidate pair, and what the SFU reports of the publisher's streams. */
function readLocal(down: RTCStatsReport, up: RTCStatsReport | undefined, pcs: (RTCPeerConnection | undefined)[]): LocalLinkSample {
  const local: LocalLinkSample = {
    disconnected: pcs.some((pc) => pc?.connectionState === 'disconnected' || pc?.connectionState === 'failed'),
    roundTripTimes: [],
    uplinkLimitedByBandwidth: false,
  };
  const pair = selectedPair(down);
  const pairRtt = num(pair?.currentRoundTripTime);
  if (pairRtt !== undefined) local.roundTripTimes.push(pairRtt);
  local.availableIncomingBitrate = num(pair?.availableIncomingBitrate);
  up?.forEach((s: Stats) => {
    // A simulcast layer dynacast turned off (`active: false`) keeps its last limitation reason.
    if (s.type === 'outbound-rtp' && s.kind === 'video' && s.active !== false && s.qualityLimitationReason === 'bandwidth') {
      local.uplinkLimitedByBandwidth = true;
    }
    if (s.type !== 'remote-inbound-rtp') return;
    const rtt = num(s.roundTripTime);
    if (rtt !== undefined) local.roundTripTimes.push(rtt);
    const lost = num(s.fractionLost);
    if (lost !== undefined) local.uplinkFractionLost = Math.max(local.uplinkFractionLost ?? 0, lost);
  });
  return local;
}

/** The transport's selected pair, else a nominated one that succeeded. */
function selectedPair(report: RTCStatsReport): Stats | undefined {
  let selectedId: string | undefined;
  const pairs = new Map<string, Stats>();
  report.forEach((s: Stats) => {
    if (s.type === 'transport' && typeof s.selectedCandidatePairId === 'string') selectedId ??= s.selectedCandidatePairId;
    if (s.type === 'candidate-pair') pairs.set(String(s.id), s);
  });
  const selected = selectedId === undefined ? undefined : pairs.get(selectedId);
  return selected ?? [...pairs.values()].find((s) => s.nominated === true && s.state === 'succeeded');
}

function num(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}
