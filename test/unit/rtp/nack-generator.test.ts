import { afterEach, expect, test, vi } from 'vitest';
import { Counter, Gauge } from 'prom-client';
import { GenericNack, RtcpPacketConverter, RtcpTransportLayerFeedback, RtpHeader, RtpPacket, type RTCRtpReceiver } from 'werift';
import { encodeGenericNacks } from '../../../sfu/media/rtp/generic-nack.js';
import { NackGenerator, nackGeneratorDefaults } from '../../../sfu/media/rtp/nack-generator.js';
import { PublisherNack } from '../../../sfu/media/rtp/publisher-nack.js';

const { maxRetries, maxAgeMs, firstNackDelayMs } = nackGeneratorDefaults;

/** Pushes each sequence number at `now`. */
function pushAll(generator: NackGenerator, sequenceNumbers: number[], now = 0): void {
  for (const seq of sequenceNumbers) generator.push(seq & 0xffff, now);
}

/** Runs the generator's timer as the adapter would: tick at each `nextAt` until nothing is due. */
function runTicks(generator: NackGenerator, rttMs: number | undefined, from: number) {
  const nacks: { at: number; seqs: number[] }[] = [];
  let at: number | undefined = from;
  let gaveUp = 0;
  let keyframe = false;
  while (at !== undefined) {
    const tick = generator.tick(at, rttMs);
    if (tick.nack.length > 0) nacks.push({ at, seqs: tick.nack });
    gaveUp += tick.gaveUp;
    keyframe ||= tick.keyframe;
    at = tick.nextAt;
  }
  return { nacks, gaveUp, keyframe };
}

test('packets in order: nothing missing, no tick needed', () => {
  const generator = new NackGenerator();
  pushAll(generator, Array.from({ length: 70_000 }, (_, i) => 60_000 + i));
  expect(generator.pending).toBe(0);
  expect(generator.needsTick).toBe(false);
  expect(generator.tick(0, 20)).toEqual({ nack: [], gaveUp: 0, keyframe: false, nextAt: undefined });
});

test('a loss across the wrap from 65535 to 0 is asked for in extended order, and detection goes on after it', () => {
  const generator = new NackGenerator();
  pushAll(generator, [65530, 65531, 65532, 65533]);
  generator.push(1, 0); // 65534, 65535 and 0 lost
  expect(generator.pending).toBe(3);
  expect(generator.tick(firstNackDelayMs - 1, 20).nack).toEqual([]);
  expect(generator.tick(firstNackDelayMs, 20).nack).toEqual([65534, 65535, 0]);
  for (const seq of [65535, 0, 65534]) generator.push(seq, 10); // the retransmissions, in any order
  expect(generator.pending).toBe(0);
  expect(generator.recovered).toBe(3);
  expect(generator.needsTick).toBe(false);
  // Werift's generator compares raw numbers and sees no loss here for ~65k packets; this one does at once.
  pushAll(generator, [2, 3, 5], 20);
  expect(generator.pending).toBe(1);
  expect(generator.tick(20 + firstNackDelayMs, 20).nack).toEqual([4]);
});

test('packets reordered at the wrap are not asked for, and loss right after is detected', () => {
  const generator = new NackGenerator();
  pushAll(generator, [65532, 65533, 0, 65534, 1, 65535, 2]);
  expect(generator.pending).toBe(0);
  expect(generator.tick(firstNackDelayMs, 20).nack).toEqual([]);
  expect(generator.recovered).toBe(2);
  pushAll(generator, [3, 6], 10);
  expect(generator.tick(10 + firstNackDelayMs, 20).nack).toEqual([4, 5]);
  // A stale packet from before the wrap (a late duplicate) is ignored, not taken as a jump.
  generator.push(65533, 11);
  expect(generator.pending).toBe(2);
  expect(generator.highest & 0xffff).toBe(6);
});

test('retries are paced by the RTT: 20 ms apart at 20 ms RTT (the floor), 250 ms apart at 200 ms RTT', () => {
  for (const [rtt, interval] of [[20, 25], [200, 250], [2, 20]] as const) {
    const generator = new NackGenerator();
    pushAll(generator, [100, 102]);
    expect(generator.retryIntervalMs(rtt)).toBe(interval);
    const first = generator.tick(firstNackDelayMs, rtt);
    expect(first.nack).toEqual([101]);
    expect(first.nextAt).toBe(firstNackDelayMs + interval);
    expect(generator.tick(firstNackDelayMs + interval - 1, rtt).nack).toEqual([]);
    expect(generator.tick(firstNackDelayMs + interval, rtt).nack).toEqual([101]);
    expect(generator.tick(firstNackDelayMs + 2 * interval, rtt).nack).toEqual([101]);
  }
  // Before an RTT is measured, libwebrtc's 100 ms default.
  expect(new NackGenerator().retryIntervalMs(undefined)).toBe(125);
});

test('at 20 ms RTT a lost packet is asked for maxRetries times, then given up one interval later with a key-frame request', () => {
  const generator = new NackGenerator();
  pushAll(generator, [10, 12]);
  const { nacks, gaveUp, keyframe } = runTicks(generator, 20, 0);
  expect(nacks.map((n) => n.seqs)).toEqual(Array.from({ length: maxRetries }, () => [11]));
  expect(nacks.map((n) => n.at)).toEqual(Array.from({ length: maxRetries }, (_, i) => firstNackDelayMs + 25 * i));
  expect(gaveUp).toBe(1);
  expect(keyframe).toBe(true);
  expect(generator.pending).toBe(0);
  expect(generator.unrecovered).toBe(1);
  expect(generator.needsTick).toBe(false);
  // Recovered after it was given up: ignored.
  generator.push(11, 1000);
  expect(generator.recovered).toBe(0);
});

test('at 200 ms RTT the age bound gives a loss up before its retries run out', () => {
  const generator = new NackGenerator();
  pushAll(generator, [10, 12]);
  const { nacks, gaveUp, keyframe } = runTicks(generator, 200, 0);
  // NACKs at 5, 255, …, 1255; given up at maxAgeMs.
  expect(nacks.map((n) => n.at)).toEqual([5, 255, 505, 755, 1005, 1255]);
  expect(gaveUp).toBe(1);
  expect(keyframe).toBe(true);
  expect(generator.tick(maxAgeMs, 200).nextAt).toBeUndefined();
});

test('a lost retransmission is asked for again whatever the RTT (werift gave up after 10 × 5 ms)', () => {
  const generator = new NackGenerator();
  pushAll(generator, [1, 3]);
  generator.tick(5, 120); // first NACK; its retransmission is lost
  const second = generator.tick(5 + 150, 120);
  expect(second.nack).toEqual([2]);
  generator.push(2, 5 + 150 + 120);
  expect(generator.recovered).toBe(1);
  expect(generator.tick(400, 120).nextAt).toBeUndefined();
});

test('missing packets are bounded: a gap larger than maxMissing asks for a key frame instead', () => {
  const generator = new NackGenerator({ maxMissing: 64 });
  pushAll(generator, [0, 1]);
  generator.push(40, 0); // 38 missing
  generator.push(70, 0); // 29 more: the oldest 3 are dropped
  expect(generator.pending).toBe(64);
  const first = generator.tick(firstNackDelayMs, 20);
  expect(first.gaveUp).toBe(3);
  expect(first.keyframe).toBe(true);
  expect(first.nack[0]).toBe(5);
  generator.push(1000, 10); // a gap of 929: nothing asked for, all given up
  expect(generator.pending).toBe(0);
  expect(generator.needsTick).toBe(true);
  const tick = generator.tick(11, 20);
  expect(tick).toMatchObject({ nack: [], gaveUp: 64 + 929, keyframe: true, nextAt: undefined });
  expect(generator.needsTick).toBe(false);
});

test('a stream that restarts far behind is followed, not ignored', () => {
  const generator = new NackGenerator();
  pushAll(generator, [40_000, 40_001]);
  // 16 packets in a row far behind: a restart (the first 15 look like stray old packets).
  pushAll(generator, [...Array.from({ length: 16 }, (_, i) => 20_000 + i), 20_017]);
  expect(generator.pending).toBe(1);
  expect(generator.tick(firstNackDelayMs, 20).nack).toEqual([20_016]);
});

test('one stray packet far behind is ignored: nothing given up, no key frame', () => {
  const generator = new NackGenerator();
  pushAll(generator, [40_000, 40_001, 40_003]);
  pushAll(generator, [31_000, 40_004, 40_005]);
  expect(generator.pending).toBe(1);
  const tick = generator.tick(firstNackDelayMs, 20);
  expect(tick).toMatchObject({ nack: [40_002], gaveUp: 0, keyframe: false });
});

test('Generic NACK encoding (RFC 4585 §6.2.1): PID and BLP, a new entry at the wrap, werift parses it back', () => {
  const [packet] = encodeGenericNacks(0x1234, 0xcafe, [65520, 65534, 65535, 0, 1, 17, 18, 40]);
  expect(packet.subarray(0, 2)).toEqual(Buffer.from([0x81, 205]));
  expect(packet.readUInt16BE(2)).toBe(packet.length / 4 - 1);
  const items = [];
  for (let offset = 12; offset < packet.length; offset += 4) items.push([packet.readUInt16BE(offset), packet.readUInt16BE(offset + 2)]);
  expect(items).toEqual([[65520, (1 << 13) | (1 << 14)], [0, 1], [17, 1], [40, 0]]);
  const [parsed] = RtcpPacketConverter.deSerialize(packet) as RtcpTransportLayerFeedback[];
  const nack = parsed.feedback as GenericNack;
  expect(nack.senderSsrc).toBe(0x1234);
  expect(nack.mediaSourceSsrc).toBe(0xcafe);
  expect(nack.lost).toEqual([65520, 65534, 65535, 0, 1, 17, 18, 40]);
});

// The adapter, on a fake receiver and fake timers: the timer runs only while something is missing.

afterEach(() => {
  vi.useRealTimers();
});

function fakeReceiver(rttSeconds?: number) {
  const sent: Buffer[] = [];
  const wereiftHandler = { close: vi.fn() };
  const receiver = {
    nack: wereiftHandler as unknown,
    rtcpSsrc: 77,
    dtlsTransport: {
      sendRtcp: async (packets: { serialize(): Buffer }[]) => void sent.push(Buffer.concat(packets.map((p) => p.serialize()))),
      iceTransport: { connection: { nominated: { rtt: rttSeconds } } },
    },
  };
  return { receiver, sent, wereiftHandler };
}

function fakeMetrics() {
  return {
    publisherNacksSent: new Counter({ name: 'n', help: 'n', registers: [] }),
    publisherLostPackets: new Counter({ name: 'l', help: 'l', labelNames: ['result'], registers: [] }),
    publisherNackTimers: new Gauge({ name: 't', help: 't', registers: [] }),
  };
}

const rtp = (seq: number, ssrc = 5) => new RtpPacket(new RtpHeader({ sequenceNumber: seq, ssrc, payloadType: 96 }), Buffer.alloc(10));

test('the adapter replaces werift’s handler, starts a timer on the first loss, stops it when recovered, and close clears it', async () => {
  vi.useFakeTimers();
  const { receiver, sent, wereiftHandler } = fakeReceiver(0.2);
  const metrics = fakeMetrics();
  const onUnrecoveredLoss = vi.fn();
  const nack = PublisherNack.attach(receiver as unknown as RTCRtpReceiver, { metrics, onUnrecoveredLoss, now: () => Date.now() });
  expect(wereiftHandler.close).toHaveBeenCalled();
  expect(receiver.nack).toBe(nack);

  for (const seq of [65533, 65534, 65535]) nack.addPacket(rtp(seq));
  expect(nack.timerRunning).toBe(false);
  nack.addPacket(rtp(1)); // 0 lost
  expect(nack.timerRunning).toBe(true);
  expect((await metrics.publisherNackTimers.get()).values[0].value).toBe(1);
  await vi.advanceTimersByTimeAsync(firstNackDelayMs);
  expect(sent).toHaveLength(1);
  expect((RtcpPacketConverter.deSerialize(sent[0])[0] as RtcpTransportLayerFeedback).feedback).toMatchObject({ senderSsrc: 77, mediaSourceSsrc: 5, lost: [0] });
  // 200 ms RTT: the next NACK is 250 ms later.
  await vi.advanceTimersByTimeAsync(249);
  expect(sent).toHaveLength(1);
  await vi.advanceTimersByTimeAsync(1);
  expect(sent).toHaveLength(2);
  nack.addPacket(rtp(0)); // recovered over RTX (werift hands it over unwrapped)
  expect(nack.pending).toBe(0);
  expect(nack.timerRunning).toBe(false);
  expect(vi.getTimerCount()).toBe(0);
  expect((await metrics.publisherLostPackets.get()).values).toMatchObject([{ labels: { result: 'recovered' }, value: 1 }]);
  expect((await metrics.publisherNackTimers.get()).values[0].value).toBe(0);

  // A loss never recovered: NACKed, given up, a key frame asked for, and the timer stops by itself.
  nack.addPacket(rtp(3));
  await vi.advanceTimersByTimeAsync(maxAgeMs + 10);
  expect(onUnrecoveredLoss).toHaveBeenCalledTimes(1);
  expect(nack.timerRunning).toBe(false);
  expect(vi.getTimerCount()).toBe(0);

  nack.addPacket(rtp(6));
  expect(vi.getTimerCount()).toBe(1);
  nack.close();
  nack.close();
  expect(vi.getTimerCount()).toBe(0);
  expect(nack.pending).toBe(0);
  expect((await metrics.publisherNackTimers.get()).values[0].value).toBe(0);
  nack.addPacket(rtp(9)); // werift may still call it until the receiver stops
  expect(vi.getTimerCount()).toBe(0);
});

test('the adapter follows each SSRC (simulcast layers) separately and sends each one NACK per tick', async () => {
  vi.useFakeTimers();
  const { receiver, sent } = fakeReceiver();
  const nack = PublisherNack.attach(receiver as unknown as RTCRtpReceiver, { metrics: fakeMetrics(), onUnrecoveredLoss: () => undefined, now: () => Date.now() });
  for (const seq of [10, 11, 13]) nack.addPacket(rtp(seq, 1));
  for (const seq of [500, 502]) nack.addPacket(rtp(seq, 2));
  expect(nack.pending).toBe(2);
  await vi.advanceTimersByTimeAsync(firstNackDelayMs);
  expect(sent).toHaveLength(2);
  const feedback = sent.map((packet) => (RtcpPacketConverter.deSerialize(packet)[0] as RtcpTransportLayerFeedback).feedback as GenericNack);
  expect(feedback.map((f) => [f.mediaSourceSsrc, f.lost])).toEqual([[1, [12]], [2, [501]]]);
  nack.close();
  expect(vi.getTimerCount()).toBe(0);
});
