import { Registry } from 'prom-client';
import { afterEach, expect, test, vi } from 'vitest';
import { RtcpSenderInfo, RtcpSrPacket, RtpHeader, RtpPacket, type MediaStreamTrack, type RTCRtpReceiver } from 'werift';
import type { DownTrack } from '../../../sfu/media/down-track.js';
import { PublishedTrack } from '../../../sfu/media/published-track.js';
import { createSfuMetrics } from '../../../sfu/sfu-metrics.js';

afterEach(() => {
  vi.useRealTimers();
});

/** A tiny event with werift's subscribe/execute shape. */
function event<T extends unknown[]>() {
  const handlers = new Set<(...args: T) => void>();
  return { subscribe: (h: (...args: T) => void) => (handlers.add(h), { unSubscribe: () => handlers.delete(h) }), execute: (...args: T) => handlers.forEach((h) => h(...args)) };
}

function setup(pliMinIntervalMs = 500) {
  const registry = new Registry();
  const none = () => 0;
  const metrics = createSfuMetrics(registry, { rooms: none, participants: none, publishedTracks: none, subscribedTracks: none, peerConnections: none });
  const plis: number[] = [];
  const receiver = { onRtcp: event<[unknown]>(), sendRtcpPLI: async (ssrc: number) => void plis.push(ssrc) };
  const remote = { ssrc: 0xabc, codec: undefined, onReceiveRtp: event<[RtpPacket]>() };
  const track = new PublishedTrack({
    id: 'TR_1',
    kind: 'video',
    source: 'camera',
    mid: '0',
    publisherIdentity: 'alice',
    receiver: receiver as unknown as RTCRtpReceiver,
    codec: { mimeType: 'video/VP8', payloadType: 96, clockRate: 90000 } as never,
    extensions: {},
    packetCacheSize: 64,
    pliMinIntervalMs,
    metrics,
  });
  track.attachRemote(remote as unknown as MediaStreamTrack);
  const send = (seq: number, keyframe = false) =>
    remote.onReceiveRtp.execute(new RtpPacket(new RtpHeader({ ssrc: 0xabc, sequenceNumber: seq, timestamp: seq * 100 }), Buffer.from([0x10, keyframe ? 0 : 1, 0])));
  const metric = async (name: string) => (await registry.getSingleMetric(name)!.get()).values.reduce((sum, v) => sum + v.value, 0);
  return { track, receiver, send, plis, metric };
}

/** A down track stand-in that records what it was given. */
function recorder(fail = false) {
  const got: number[][] = [];
  return {
    got,
    downTrack: {
      forward: (_p: RtpPacket, _layer: unknown, seq: number, ts: number) => {
        if (fail) throw new Error('broken subscriber');
        got.push([seq, ts]);
      },
      close: () => undefined,
    } as unknown as DownTrack,
  };
}

test('one down track that throws does not stop the packet reaching the others, and is counted', async () => {
  const { track, send, metric } = setup();
  const a = recorder();
  const broken = recorder(true);
  const b = recorder();
  for (const r of [a, broken, b]) track.addDownTrack(r.downTrack);
  send(1);
  send(2);
  expect(a.got).toHaveLength(2);
  expect(b.got).toHaveLength(2);
  expect(await metric('tsfu_sfu_forward_errors_total')).toBe(2);
  track.close();
});

test('numbers are unwrapped once at the edge; duplicates go to nobody', async () => {
  const { track, send, metric } = setup();
  const a = recorder();
  track.addDownTrack(a.downTrack);
  send(65_535);
  send(0);
  send(0);
  send(65_535);
  expect(a.got.map(([seq]) => seq)).toEqual([131_071, 131_072]);
  expect(await metric('tsfu_sfu_discarded_packets_total')).toBe(2);
  track.close();
});

test('key-frame requests: bounded rate, but a new down track is not held back by a key frame it could not receive', () => {
  vi.useFakeTimers();
  const { track, send, plis } = setup(500);
  expect(track.requestKeyframe('subscribe')).toBe(true);
  vi.advanceTimersByTime(100);
  // Its key frame has not arrived yet: a second new down track will get it, no need to ask.
  expect(track.requestKeyframe('subscribe')).toBe(false);
  expect(track.requestKeyframe('waiting')).toBe(false);
  send(1, true);
  vi.advanceTimersByTime(100);
  // The key frame came and went before this down track could send: it may ask, once per key frame.
  expect(track.requestKeyframe('waiting')).toBe(false);
  expect(track.requestKeyframe('subscribe')).toBe(true);
  expect(track.requestKeyframe('subscribe')).toBe(false);
  vi.advanceTimersByTime(500);
  expect(track.requestKeyframe('waiting')).toBe(true);
  expect(plis).toHaveLength(3);
  track.close();
});

test("keeps the publisher's latest Sender Report for the SSRC it receives", () => {
  const { track, receiver } = setup();
  expect(track.senderReport()).toBeUndefined();
  const sr = (ssrc: number, rtpTimestamp: number) => new RtcpSrPacket({ ssrc, senderInfo: new RtcpSenderInfo({ ntpTimestamp: 0n, rtpTimestamp, packetCount: 0, octetCount: 0 }) });
  receiver.onRtcp.execute(sr(0x999, 1));
  expect(track.senderReport()).toBeUndefined();
  receiver.onRtcp.execute(sr(0xabc, 123_456));
  expect(track.senderReport()).toMatchObject({ ssrc: 0xabc, rtpTimestamp: 123_456 });
  track.close();
});
