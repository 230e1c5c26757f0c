import { Registry } from 'prom-client';
import { describe, expect, test } from 'vitest';
import { ClientMetricsRecorder } from '../../../signaling/client-metrics.js';
import { parseClientMessage } from '../../../signaling/message-parser.js';
import type { ClientMessageOf } from '../../../signaling/messages.js';
import { createSignalingMetrics } from '../../../signaling/signaling-metrics.js';

function setup() {
  const registry = new Registry();
  const metrics = createSignalingMetrics(registry, () => 0, () => 0);
  return { registry, metrics, recorder: new ClientMetricsRecorder(metrics) };
}

const report = (fields: object) => parseClientMessage(JSON.stringify({ type: 'clientMetrics', ...fields })) as ClientMessageOf<'clientMetrics'>;

async function sample(registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
  const metric = await (registry.getSingleMetric(name) ?? registry.getSingleMetric(name.replace(/_(count|sum)$/, '')))!.get();
  // Histograms name each value (`_count`, `_sum`, `_bucket`); counters and gauges do not.
  const values = metric.values as { value: number; labels: Record<string, string | number>; metricName?: string }[];
  const found = values.find((v) => (v.metricName ?? metric.name) === name && Object.entries(labels).every(([k, value]) => v.labels[k] === value));
  return found?.value;
}

describe('clientMetrics reports', () => {
  test('each measurement counts once per session: repeats are ignored', async () => {
    const { registry, recorder } = setup();
    const first = recorder.record(report({ wsConnectMs: 12.5, iceConnectMs: { subscriber: 180 }, selectedCandidateType: { subscriber: 'relay' } }));
    expect(first).toEqual({ wsConnectMs: 13, subscriberIceConnectMs: 180, subscriberCandidateType: 'relay' });
    expect(recorder.record(report({ wsConnectMs: 5000, iceConnectMs: { subscriber: 9000 }, selectedCandidateType: { subscriber: 'host' } }))).toBeUndefined();
    // The publisher connects later, in its own report.
    expect(recorder.record(report({ iceConnectMs: { publisher: 250 }, selectedCandidateType: { publisher: 'host' } }))).toEqual({
      publisherIceConnectMs: 250,
      publisherCandidateType: 'host',
    });
    expect(await sample(registry, 'tsfu_client_websocket_connect_seconds_count')).toBe(1);
    expect(await sample(registry, 'tsfu_client_websocket_connect_seconds_sum')).toBeCloseTo(0.0125);
    expect(await sample(registry, 'tsfu_client_ice_connect_seconds_count', { peer: 'subscriber' })).toBe(1);
    expect(await sample(registry, 'tsfu_client_ice_connect_seconds_sum', { peer: 'subscriber' })).toBeCloseTo(0.18);
    expect(await sample(registry, 'tsfu_client_ice_connect_seconds_count', { peer: 'publisher' })).toBe(1);
    expect(await sample(registry, 'tsfu_client_connections_total', { peer: 'subscriber', candidate_type: 'relay' })).toBe(1);
    expect(await sample(registry, 'tsfu_client_connections_total', { peer: 'subscriber', candidate_type: 'host' })).toBeUndefined();
    expect(await sample(registry, 'tsfu_client_connections_total', { peer: 'publisher', candidate_type: 'host' })).toBe(1);
  });

  test('a new session (a rejoin) counts again', async () => {
    const { registry, metrics, recorder } = setup();
    recorder.record(report({ wsConnectMs: 10 }));
    new ClientMetricsRecorder(metrics).record(report({ wsConnectMs: 20 }));
    expect(await sample(registry, 'tsfu_client_websocket_connect_seconds_count')).toBe(2);
  });

  test.each([
    ['a negative time', { wsConnectMs: -1 }],
    ['more than 10 minutes', { iceConnectMs: { subscriber: 600_001 } }],
    ['a time that is not a number', { wsConnectMs: '12' }],
    ['an unknown peer', { iceConnectMs: { screen: 10 } }],
    ['an unknown candidate type', { selectedCandidateType: { subscriber: 'turn' } }],
    ['an unknown field', { cpuPercent: 10 }],
  ])('the schema refuses %s', (_, fields) => {
    expect(() => report(fields)).toThrow(/SCHEMA|clientMetrics/);
  });
});
