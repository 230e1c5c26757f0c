import fc from 'fast-check';
import { expect, test } from 'vitest';
import { ReceiveCounter } from '../../bench/loadtest/receive-counter.js';

test('loss from sequence gaps across 16-bit wraps, per SSRC, with duplicates and late packets not counted as loss', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 1, max: 200_000 }), fc.double({ min: 0, max: 0.3, noNaN: true }), fc.integer(), (first, sent, lossShare, seed) => {
      const counter = new ReceiveCounter();
      let state = seed;
      const random = () => ((state = (state * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
      let lost = 0;
      let delayed: number | undefined;
      for (let i = 0; i < sent; i++) {
        const sequenceNumber = (first + i) & 0xffff;
        // The first and last packets always arrive, so the expected count is the whole span.
        if (i > 0 && i < sent - 1 && random() < lossShare) {
          lost++;
          continue;
        }
        // Now and then one packet arrives after the next (reordered), which is not loss.
        if (delayed === undefined && i > 0 && i < sent - 1 && random() < 0.01) {
          delayed = sequenceNumber;
          continue;
        }
        counter.onPacket(0x1234, sequenceNumber, 100, i);
        if (delayed !== undefined) {
          counter.onPacket(0x1234, delayed, 100, i);
          delayed = undefined;
        }
      }
      expect(counter.expected).toBe(sent);
      expect(counter.lost).toBe(lost);
    }),
    { numRuns: 30 },
  );
});

test('each SSRC is counted on its own, and bytes and packet times add up', () => {
  const counter = new ReceiveCounter();
  for (const seq of [65534, 65535, 0, 2]) counter.onPacket(1, seq, 10, seq);
  for (const seq of [10, 11, 11, 14]) counter.onPacket(2, seq, 5, 100);
  expect(counter.expected).toBe(5 + 5);
  expect(counter.lost).toBe(1 + 1); // ssrc 1 misses 1; ssrc 2 misses 12 and 13 but got 11 twice
  expect(counter.bytes).toBe(4 * 10 + 4 * 5);
  expect(counter.packets).toBe(8);
  expect(counter.firstPacketAt).toBe(65534);
});
