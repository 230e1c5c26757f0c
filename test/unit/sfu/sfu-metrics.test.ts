import { Registry } from 'prom-client';
import { expect, test } from 'vitest';
import { createSfuMetrics } from '../../../sfu/sfu-metrics.js';

const none = () => 0;

test('forwarded packets and bytes counted with plain additions appear in the counters whenever they are read', async () => {
  const registry = new Registry();
  const metrics = createSfuMetrics(registry, { rooms: none, participants: none, publishedTracks: none, subscribedTracks: none, peerConnections: none });
  metrics.forwarded.video.packets += 3;
  metrics.forwarded.video.bytes += 3000;
  metrics.forwarded.audio.packets += 1;
  let text = await registry.metrics();
  expect(text).toContain('tsfu_sfu_forwarded_packets_total{kind="video"} 3');
  expect(text).toContain('tsfu_sfu_forwarded_packets_total{kind="audio"} 1');
  expect(text).toContain('tsfu_sfu_forwarded_bytes_total{kind="video"} 3000');
  metrics.forwarded.video.packets += 2;
  const read = await metrics.packetsForwarded.get();
  expect(read.values.find((v) => v.labels.kind === 'video')?.value).toBe(5);
  text = await registry.metrics();
  expect(text).toContain('tsfu_sfu_forwarded_packets_total{kind="video"} 5');
});
