import fc from 'fast-check';
import { expect, test } from 'vitest';
import { DropReason, Forwarder, type ForwardResult } from '../../../sfu/media/forwarder.js';
import { Arrival, RtpUnwrapper } from '../../../sfu/media/rtp/rtp-unwrapper.js';

/**
 * Long streams through the edge unwrapper and a down track's Forwarder, as a published track runs them:
 * ≥ 200,000 packets a run, so 16-bit sequence numbers wrap three times and timestamps from anywhere wrap too,
 * with loss, reordering, duplicates and source changes (new SSRC, new numbering).
 */
const PACKETS_PER_RUN = 210_000;
const PACKETS_PER_FRAME = 3;
const FRAMES_PER_KEYFRAME = 100;
const STEP = 3000;

interface Sent {
  source: number;
  ssrc: number;
  index: number;
  seq: number;
  ts: number;
  keyframe: boolean;
}

/** mulberry32: the stream is expanded from fast-check's seed, so a failure shrinks and replays. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Scenario {
  seed: number;
  loss: number;
  reorder: number;
  duplicate: number;
  maxDistance: number;
  sources: number;
  video: boolean;
  initialSeq: number;
  initialTs: number;
}

/** The arrival order: each source's packets in order, minus losses, some moved later, some repeated later. */
function arrivals(s: Scenario): Sent[] {
  const next = random(s.seed);
  const perSource = Math.ceil(PACKETS_PER_RUN / s.sources);
  const result: Sent[] = [];
  for (let source = 0; source < s.sources; source++) {
    const ssrc = 1000 + source;
    const firstSeq = Math.floor(next() * 0x10000);
    const firstTs = Math.floor(next() * 0x1_0000_0000);
    const sent: Sent[] = [];
    for (let index = 0; index < perSource; index++) {
      const frame = Math.floor(index / PACKETS_PER_FRAME);
      const keyframe = index % PACKETS_PER_FRAME === 0 && frame % FRAMES_PER_KEYFRAME === 0;
      const packet = { source, ssrc, index, seq: (firstSeq + index) & 0xffff, ts: (firstTs + frame * STEP) >>> 0, keyframe };
      if (next() >= s.loss) sent.push(packet);
    }
    // Arrival keys: a packet's position, later by up to maxDistance when reordered or repeated.
    const keyed: { key: number; packet: Sent }[] = [];
    sent.forEach((packet, i) => {
      const r = next();
      const delay = 1 + Math.floor(next() * s.maxDistance) + 0.5;
      keyed.push({ key: r < s.reorder ? i + delay : i, packet });
      if (r >= s.reorder && r < s.reorder + s.duplicate) keyed.push({ key: i + delay, packet });
    });
    keyed.sort((x, y) => x.key - y.key);
    for (const { packet } of keyed) result.push(packet);
  }
  return result;
}

function check(s: Scenario): void {
  const unwrapper = new RtpUnwrapper();
  const forwarder = new Forwarder(s.video, STEP, s.initialSeq, s.initialTs);
  const out: ForwardResult = { sequenceNumber: 0, timestamp: 0, newest: false };
  /** Per source: index of the first packet forwarded, the mapping, the newest output. */
  const start = new Map<number, { index: number; seqOffset: number; tsOffset: number }>();
  const forwarded = new Set<Sent>();
  /** Arrived before its source's first forwarded packet (a key frame for video): dropped, rightly. */
  const early = new Set<Sent>();
  const stream = arrivals(s);
  let previousHighest = { seq: (s.initialSeq - 1) & 0xffff, ts: s.initialTs, any: false };
  let highest = { seq: 0, ts: 0, index: -1 };
  const failures: string[] = [];
  const fail = (what: string) => failures.length < 5 && failures.push(what);

  for (const p of stream) {
    const arrival = unwrapper.unwrap(p.ssrc, p.seq, p.ts);
    if (arrival === Arrival.Duplicate) {
      if (!forwarded.has(p) && !early.has(p)) fail(`#${p.index} taken for a duplicate`);
      continue;
    }
    if (arrival === Arrival.Stale) fail(`#${p.index} of source ${p.source} stale`);
    const drop = forwarder.decide(p.ssrc, unwrapper.sequenceNumber, unwrapper.timestamp, p.keyframe, out);
    const begun = start.get(p.source);
    if (drop !== DropReason.None) {
      // Allowed: waiting for the source's first key frame, or older than the first packet forwarded.
      if (begun !== undefined && p.index > begun.index) fail(`#${p.index} of source ${p.source} dropped (${drop})`);
      early.add(p);
      continue;
    }
    if (forwarded.has(p)) fail(`#${p.index} forwarded twice`);
    forwarded.add(p);
    if (begun === undefined) {
      if (s.video && !p.keyframe) fail(`source ${p.source} began without a key frame`);
      // Continuous across sources: one after the newest output, one frame later.
      const expectedSeq = previousHighest.any ? (previousHighest.seq + 1) & 0xffff : s.initialSeq;
      const expectedTs = previousHighest.any ? (previousHighest.ts + STEP) >>> 0 : s.initialTs;
      if (out.sequenceNumber !== expectedSeq || out.timestamp !== expectedTs) fail(`source ${p.source} began at ${out.sequenceNumber}/${out.timestamp}, not ${expectedSeq}/${expectedTs}`);
      start.set(p.source, { index: p.index, seqOffset: (out.sequenceNumber - p.seq) & 0xffff, tsOffset: (out.timestamp - p.ts) >>> 0 });
      highest = { seq: out.sequenceNumber, ts: out.timestamp, index: p.index };
    } else {
      // One offset per source: gaps stay gaps, late packets land in their place.
      if (((out.sequenceNumber - p.seq) & 0xffff) !== begun.seqOffset || ((out.timestamp - p.ts) >>> 0) !== begun.tsOffset) fail(`#${p.index} mapped off`);
      if (out.newest !== p.index > highest.index) fail(`#${p.index} newest=${out.newest}`);
      if (p.index > highest.index) highest = { seq: out.sequenceNumber, ts: out.timestamp, index: p.index };
    }
    previousHighest = { seq: highest.seq, ts: highest.ts, any: true };
    if (forwarder.incomingSequenceNumber(out.sequenceNumber) !== p.seq) fail(`NACK for ${out.sequenceNumber} maps to ${forwarder.incomingSequenceNumber(out.sequenceNumber)}, not ${p.seq}`);
  }
  // Nothing in order was dropped: every packet after each source's start that arrived after it went out.
  for (const p of stream) {
    const begun = start.get(p.source);
    if (begun !== undefined && p.index > begun.index && !forwarded.has(p) && !early.has(p)) fail(`#${p.index} of source ${p.source} never forwarded`);
  }
  expect(failures).toEqual([]);
  expect(forwarded.size).toBeGreaterThan(PACKETS_PER_RUN * 0.9 * (1 - s.loss) - PACKETS_PER_FRAME * FRAMES_PER_KEYFRAME * s.sources);
}

test('200,000+ packets with wraps, loss, reordering, duplicates and source changes come out continuous, nothing in order dropped', () => {
  fc.assert(
    fc.property(
      fc.record({
        seed: fc.integer(),
        loss: fc.double({ min: 0, max: 0.05, noNaN: true }),
        reorder: fc.double({ min: 0, max: 0.05, noNaN: true }),
        duplicate: fc.double({ min: 0, max: 0.05, noNaN: true }),
        maxDistance: fc.integer({ min: 1, max: 50 }),
        sources: fc.integer({ min: 1, max: 4 }),
        video: fc.boolean(),
        initialSeq: fc.integer({ min: 0, max: 0xffff }),
        initialTs: fc.integer({ min: 0, max: 0xffff_ffff }),
      }),
      (scenario) => check(scenario),
    ),
    { numRuns: 4 },
  );
}, 120_000);
