import { describe, expect, test } from 'vitest';
import { ConnectTimings, selectedCandidateType } from '../../../client/sdk/connect-timings.js';

type Stat = Record<string, unknown> & { id: string; type: string };
/** A peer connection whose getStats() holds these reports (an RTCStatsReport is a Map by id). */
const pcWith = (stats: Stat[]) => ({ getStats: async () => new Map(stats.map((s) => [s.id, s])) }) as unknown as RTCPeerConnection;

const host = { id: 'L1', type: 'local-candidate', candidateType: 'host' };
const relay = { id: 'L2', type: 'local-candidate', candidateType: 'relay' };

describe('the selected candidate pair read from getStats()', () => {
  test("the transport's selected pair wins over an older nominated one (after an ICE restart both are there)", async () => {
    const pc = pcWith([
      host,
      relay,
      { id: 'P-old', type: 'candidate-pair', nominated: true, state: 'succeeded', localCandidateId: 'L1' },
      { id: 'P-new', type: 'candidate-pair', nominated: true, state: 'succeeded', localCandidateId: 'L2' },
      { id: 'T', type: 'transport', selectedCandidatePairId: 'P-new' },
    ]);
    expect(await selectedCandidateType(pc)).toBe('relay');
  });

  test('without transport stats (Firefox), the nominated succeeded pair', async () => {
    const pc = pcWith([host, relay, { id: 'P', type: 'candidate-pair', nominated: true, state: 'succeeded', localCandidateId: 'L1' }, { id: 'Q', type: 'candidate-pair', state: 'in-progress', localCandidateId: 'L2' }]);
    expect(await selectedCandidateType(pc)).toBe('host');
  });

  test('no pair yet, or an unknown type: nothing', async () => {
    expect(await selectedCandidateType(pcWith([host]))).toBeUndefined();
    const odd = { id: 'L3', type: 'local-candidate', candidateType: 'mystery' };
    expect(await selectedCandidateType(pcWith([odd, { id: 'T', type: 'transport', selectedCandidatePairId: 'P' }, { id: 'P', type: 'candidate-pair', localCandidateId: 'L3' }]))).toBeUndefined();
  });
});

describe('connect timings sent to the server', () => {
  test('the socket time at once; each peer once, with its candidate type; times rounded and bounded to the schema', async () => {
    const sent: unknown[] = [];
    const timings = new ConnectTimings((report) => sent.push(report));
    timings.websocketOpened(12.345);
    const pc = pcWith([host, { id: 'T', type: 'transport', selectedCandidatePairId: 'P' }, { id: 'P', type: 'candidate-pair', localCandidateId: 'L1' }]);
    await timings.iceConnected('subscriber', pc, 180.04);
    await timings.iceConnected('subscriber', pc, 999); // connected again after an ICE restart: not a connect time
    await timings.iceConnected('publisher', { getStats: async () => Promise.reject(new Error('closed')) } as unknown as RTCPeerConnection, 9e9);
    expect(sent).toEqual([
      { type: 'clientMetrics', wsConnectMs: 12.3 },
      { type: 'clientMetrics', iceConnectMs: { subscriber: 180 }, selectedCandidateType: { subscriber: 'host' } },
      { type: 'clientMetrics', iceConnectMs: { publisher: 600_000 } },
    ]);
  });
});
