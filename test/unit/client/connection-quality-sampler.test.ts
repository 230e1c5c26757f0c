import { afterEach, beforeEach, expect, test, vi } from 'vitest';
import { ConnectionQualitySampler, QUALITY_SAMPLE_INTERVAL_MS, type QualitySources } from '../../../client/sdk/connection-quality-sampler.js';
import type { ConnectionQuality } from '../../../client/sdk/connection-quality.js';
import { RemoteParticipant } from '../../../client/sdk/participant.js';

type Stats = Record<string, unknown>;

/** A peer connection as the sampler sees it: a state, and getStats() answering with whatever the test set. */
class FakePc {
  connectionState: RTCPeerConnectionState = 'connected';
  stats: Stats[] = [];
  /** When set, getStats() waits for this before answering. */
  gate: Promise<void> | undefined;

  async getStats(): Promise<RTCStatsReport> {
    await this.gate;
    return new Map(this.stats.map((s) => [String(s.id), { ...s }])) as unknown as RTCStatsReport;
  }
}

let subscriberPc: FakePc;
let events: [string, ConnectionQuality][];
let sampler: ConnectionQualitySampler;

/** Alice publishes a camera (received on mid 0) and a microphone (found by its receiver track's id). */
function aliceSources(): QualitySources {
  const alice = new RemoteParticipant({
    identity: 'alice',
    sid: 'PA_1',
    joinedAt: 0,
    permissions: { canPublish: true, canSubscribe: true, canPublishData: true, canUpdateOwnMetadata: false, roomAdmin: false },
    tracks: [
      { trackId: 'TR_cam', participantIdentity: 'alice', kind: 'video', source: 'camera', muted: false },
      { trackId: 'TR_mic', participantIdentity: 'alice', kind: 'audio', source: 'microphone', muted: false },
    ],
  });
  alice.tracks.get('TR_cam')!.track = { id: 'receiver-cam' } as MediaStreamTrack;
  alice.tracks.get('TR_mic')!.track = { id: 'receiver-mic' } as MediaStreamTrack;
  return {
    localIdentity: 'me',
    participants: new Map([['alice', alice]]),
    subscriber: { transport: { pc: subscriberPc } as unknown as QualitySources['subscriber']['transport'], trackIdForMid: (mid) => (mid === '0' ? 'TR_cam' : undefined) },
    publisher: { pc: undefined },
  };
}

/** The subscriber connection's stats after `packets` packets on each track, with this selected pair's round trip. */
function subscriberStats(packets: number, rttS = 0.002): Stats[] {
  return [
    { id: 'T01', type: 'transport', selectedCandidatePairId: 'CP1' },
    { id: 'CP1', type: 'candidate-pair', currentRoundTripTime: rttS },
    { id: 'IT-cam', type: 'inbound-rtp', kind: 'video', mid: '0', trackIdentifier: 'receiver-cam', packetsReceived: packets, packetsLost: 0, jitter: 0.003 },
    { id: 'IT-mic', type: 'inbound-rtp', kind: 'audio', trackIdentifier: 'receiver-mic', packetsReceived: packets, packetsLost: 0, jitter: 0.003 },
  ];
}

const nextSample = () => vi.advanceTimersByTimeAsync(QUALITY_SAMPLE_INTERVAL_MS);

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'setTimeout', 'clearTimeout', 'performance'] });
  subscriberPc = new FakePc();
  events = [];
  sampler = new ConnectionQualitySampler(aliceSources(), (identity, quality) => events.push([identity, quality]));
});

afterEach(() => {
  sampler.stop();
  vi.useRealTimers();
});

test('maps each inbound-rtp to its participant by mid or receiver track, and judges the local link from the selected pair', async () => {
  subscriberPc.stats = subscriberStats(100);
  await nextSample();
  expect(events).toEqual([
    ['me', 'excellent'],
    ['alice', 'excellent'],
  ]);
  // Both of alice's tracks go silent (one found by mid, one by receiver track id); the round trip grows.
  subscriberPc.stats = subscriberStats(100, 0.5);
  await nextSample();
  await nextSample();
  expect(sampler.quality('alice')).toBe('lost');
  expect(sampler.quality('me')).toBe('good');
});

test.each([
  ['the camera, found only through its mid', 'IT-cam'],
  ['the microphone, found only through its receiver track', 'IT-mic'],
])('one track flowing (%s) keeps its participant from being lost', async (_, flowing) => {
  // The camera's receiver track id matches nothing, and the microphone has no mid: each has one way to be found.
  const stats = (packets: number) =>
    subscriberStats(100).map((s) => ({ ...s, ...(s.id === 'IT-cam' ? { trackIdentifier: 'unrelated' } : {}), ...(s.id === flowing ? { packetsReceived: packets } : {}) }));
  for (const packets of [100, 200, 300]) {
    subscriberPc.stats = stats(packets);
    await nextSample();
  }
  expect(sampler.quality('alice')).toBe('poor');
});

test('a microphone muted on the server sends nothing and does not make its participant poor; unmuted, it is judged again', async () => {
  const mic = (sampler as unknown as { sources: QualitySources }).sources.participants.get('alice')!.tracks.get('TR_mic')!;
  const stats = (cam: number, mic: number) => subscriberStats(cam).map((s) => (s.id === 'IT-mic' ? { ...s, packetsReceived: mic } : s));
  subscriberPc.stats = stats(100, 100);
  await nextSample();
  mic.muted = true;
  for (const cam of [200, 300, 400]) {
    subscriberPc.stats = stats(cam, 100);
    await nextSample();
  }
  expect(sampler.quality('alice')).toBe('excellent');
  // Unmuted and still silent after the silence bar (3 s): poor, as any track that stops.
  mic.muted = false;
  for (const cam of [500, 600, 700]) {
    subscriberPc.stats = stats(cam, 100);
    await nextSample();
  }
  expect(sampler.quality('alice')).toBe('poor');
});

test('without a transport entry, the nominated pair that succeeded gives the round trip', async () => {
  subscriberPc.stats = [
    ...subscriberStats(100).filter((s) => s.type === 'inbound-rtp'),
    { id: 'CP0', type: 'candidate-pair', nominated: false, state: 'failed', currentRoundTripTime: 0.001 },
    { id: 'CP1', type: 'candidate-pair', nominated: true, state: 'succeeded', currentRoundTripTime: 0.9 },
  ];
  await nextSample();
  expect(sampler.quality('me')).toBe('poor');
});

test('a disconnected subscriber connection makes the local participant lost', async () => {
  subscriberPc.stats = subscriberStats(100);
  subscriberPc.connectionState = 'disconnected';
  await nextSample();
  expect(sampler.quality('me')).toBe('lost');
});

test('stop() clears the timer, is idempotent, forgets every level, and a read under way reports nothing', async () => {
  subscriberPc.stats = subscriberStats(100);
  await nextSample();
  expect(sampler.quality('alice')).toBe('excellent');
  events.length = 0;
  let open!: () => void;
  subscriberPc.gate = new Promise((resolve) => (open = resolve));
  await nextSample();
  sampler.stop();
  sampler.stop();
  open();
  await vi.advanceTimersByTimeAsync(5 * QUALITY_SAMPLE_INTERVAL_MS);
  expect(events).toEqual([]);
  expect(vi.getTimerCount()).toBe(0);
  expect([sampler.quality('alice'), sampler.quality('me')]).toEqual([undefined, undefined]);
});
