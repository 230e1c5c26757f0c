import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { parseVp8Descriptor, type Vp8Descriptor } from '../../../sfu/simulcast/vp8-descriptor.js';
import { Vp8Munger, Vp8Verdict } from '../../../sfu/simulcast/vp8-munger.js';

interface Fields {
  pictureId?: number;
  /** 15-bit PictureID (M = 1); default: wide when the value needs it. */
  wide?: boolean;
  tl0?: number;
  tid?: number;
  y?: boolean;
  keyIdx?: number;
  /** First packet of the frame (S = 1, PID = 0); default true. */
  start?: boolean;
  /** A key frame's first packet (payload header P = 0); default false. */
  key?: boolean;
}

const BODY = [0xde, 0xad, 0xbe, 0xef];

/** A VP8 RTP payload: the RFC 7741 §4.2 descriptor for `f`, then a payload header byte and some data. */
function packet(f: Fields): Buffer {
  const bytes: number[] = [];
  const extended = f.pictureId !== undefined || f.tl0 !== undefined || f.tid !== undefined || f.keyIdx !== undefined;
  bytes.push((extended ? 0x80 : 0) | (f.start ?? true ? 0x10 : 0));
  if (extended) {
    bytes.push((f.pictureId !== undefined ? 0x80 : 0) | (f.tl0 !== undefined ? 0x40 : 0) | (f.tid !== undefined ? 0x20 : 0) | (f.keyIdx !== undefined ? 0x10 : 0));
    if (f.pictureId !== undefined) {
      if (f.wide ?? f.pictureId > 127) bytes.push(0x80 | (f.pictureId >> 8), f.pictureId & 0xff);
      else bytes.push(f.pictureId);
    }
    if (f.tl0 !== undefined) bytes.push(f.tl0);
    if (f.tid !== undefined || f.keyIdx !== undefined) bytes.push(((f.tid ?? 0) << 6) | (f.y ? 0x20 : 0) | (f.keyIdx ?? 0));
  }
  bytes.push(f.key ? 0x10 : 0x11, ...BODY);
  return Buffer.from(bytes);
}

const NO_LIMIT = 3;

/** Munges one packet and returns what the subscriber would parse, or 'drop'; checks the incoming bytes stay as they were. */
function send(munger: Vp8Munger, f: Fields, switched = false, maxTemporalLayer = NO_LIMIT): Vp8Descriptor | 'drop' {
  const payload = packet(f);
  const before = Buffer.from(payload);
  const out = munger.munge(payload, { switched, maxTemporalLayer });
  expect(payload).toEqual(before);
  if (out === 'drop') return out;
  expect(out.length).toBe(payload.length);
  expect([...out.subarray(out.length - BODY.length)]).toEqual(BODY);
  const parsed = parseVp8Descriptor(out);
  expect(parsed).toBeDefined();
  return parsed!;
}

/** The outgoing PictureID of a forwarded packet (fails on a drop). */
function pid(result: Vp8Descriptor | 'drop'): number {
  expect(result).not.toBe('drop');
  return (result as Vp8Descriptor).pictureId;
}

describe('Vp8Munger: pass-through and copies', () => {
  test('the first source passes as it is: the very same Buffer, no copy', () => {
    const munger = new Vp8Munger();
    const options = { switched: true, maxTemporalLayer: NO_LIMIT };
    for (const [i, wide] of [[0, true], [1, true], [2, true]] as const) {
      const payload = packet({ pictureId: 5000 + i, wide, tl0: 40, tid: 0, keyIdx: 7, key: i === 0 });
      expect(munger.munge(payload, options)).toBe(payload);
      options.switched = false;
    }
    const narrow = new Vp8Munger();
    const payload = packet({ pictureId: 100, wide: false, tl0: 1, tid: 0, key: true });
    expect(narrow.munge(payload, { switched: true, maxTemporalLayer: NO_LIMIT })).toBe(payload);
  });

  test('a rewritten packet is a copy of the payload alone; the shared incoming payload is untouched', () => {
    const munger = new Vp8Munger();
    munger.munge(packet({ pictureId: 10, tl0: 1, tid: 0, keyIdx: 1, key: true }), { switched: true, maxTemporalLayer: NO_LIMIT });
    // A view into a larger buffer, as a parsed RTP packet's payload is.
    const datagram = Buffer.concat([Buffer.alloc(12, 0x77), packet({ pictureId: 900, tl0: 50, tid: 0, keyIdx: 20, key: true })]);
    const payload = datagram.subarray(12);
    const before = Buffer.from(datagram);
    const out = munger.munge(payload, { switched: true, maxTemporalLayer: NO_LIMIT });
    expect(out).not.toBe('drop');
    expect(out).not.toBe(payload);
    expect(datagram).toEqual(before);
    expect((out as Buffer).length).toBe(payload.length);
    expect(parseVp8Descriptor(out as Buffer)).toMatchObject({ pictureId: 11, tl0PicIdx: 2, keyIdx: 2 });
  });

  test('decide + write rewrite a datagram the caller copied the payload into, as munge does', () => {
    const a = new Vp8Munger();
    const b = new Vp8Munger();
    const packets = [
      { f: { pictureId: 70, tl0: 9, tid: 0, keyIdx: 3, key: true }, switched: true },
      { f: { pictureId: 71, tl0: 9, tid: 1 }, switched: false },
      { f: { pictureId: 4000, tl0: 100, tid: 0, keyIdx: 17, key: true }, switched: true },
      { f: { pictureId: 4001, tl0: 100, tid: 2 }, switched: false },
      { f: { pictureId: 4002, tl0: 100, tid: 1 }, switched: false },
    ];
    for (const { f, switched } of packets) {
      const payload = packet(f);
      const expected = a.munge(payload, { switched, maxTemporalLayer: 1 });
      const verdict = b.decide(payload, { switched, maxTemporalLayer: 1 });
      if (expected === 'drop') {
        expect(verdict).toBe(Vp8Verdict.Drop);
        continue;
      }
      expect(verdict).toBe(expected === payload ? Vp8Verdict.Unchanged : Vp8Verdict.Rewritten);
      const datagram = Buffer.alloc(20 + payload.length, 0x55);
      payload.copy(datagram, 20);
      if (verdict === Vp8Verdict.Rewritten) b.write(datagram, 20);
      expect(datagram.subarray(20)).toEqual(expected);
      expect(datagram.subarray(0, 20).every((x) => x === 0x55)).toBe(true);
    }
  });
});

describe('Vp8Munger: layer switches', () => {
  test('a switch between two layers with unrelated counters continues every counter', () => {
    const munger = new Vp8Munger();
    expect(send(munger, { pictureId: 1000, tl0: 10, tid: 0, keyIdx: 3, key: true }, true)).toMatchObject({ pictureId: 1000, tl0PicIdx: 10, keyIdx: 3 });
    expect(send(munger, { pictureId: 1001, tl0: 10, tid: 1, keyIdx: 3 })).toMatchObject({ pictureId: 1001, tl0PicIdx: 10, keyIdx: 3 });
    expect(send(munger, { pictureId: 1002, tl0: 11, tid: 0, keyIdx: 3 })).toMatchObject({ pictureId: 1002, tl0PicIdx: 11, keyIdx: 3 });
    // Layer B: its own numbering, switched at its key frame.
    expect(send(munger, { pictureId: 20000, tl0: 200, tid: 0, keyIdx: 30, key: true }, true)).toMatchObject({ pictureId: 1003, tl0PicIdx: 12, keyIdx: 4, temporalId: 0, keyframe: true });
    expect(send(munger, { pictureId: 20000, tl0: 200, tid: 0, keyIdx: 30, start: false })).toMatchObject({ pictureId: 1003, tl0PicIdx: 12, keyIdx: 4 });
    expect(send(munger, { pictureId: 20001, tl0: 200, tid: 1, y: true, keyIdx: 30 })).toMatchObject({ pictureId: 1004, tl0PicIdx: 12, keyIdx: 4, temporalId: 1, layerSync: true });
    expect(send(munger, { pictureId: 20002, tl0: 201, tid: 0, keyIdx: 30 })).toMatchObject({ pictureId: 1005, tl0PicIdx: 13, keyIdx: 4 });
  });

  test('repeated switches back and forth stay continuous', () => {
    const munger = new Vp8Munger();
    const layers = [
      { pictureId: 300, tl0: 250, keyIdx: 30 },
      { pictureId: 31000, tl0: 5, keyIdx: 2 },
      { pictureId: 12, tl0: 128, keyIdx: 17 },
    ];
    let expectedPid = 300;
    let expectedTl0 = 250;
    let expectedKey = 30;
    for (let round = 0; round < 9; round++) {
      const layer = layers[round % layers.length];
      for (let frame = 0; frame < 4; frame++) {
        const tid = frame % 2;
        if (frame > 0 && tid === 0) {
          layer.tl0 = (layer.tl0 + 1) & 0xff;
          expectedTl0 = (expectedTl0 + 1) & 0xff;
        }
        const result = send(munger, { pictureId: layer.pictureId, wide: true, tl0: layer.tl0, tid, keyIdx: layer.keyIdx, key: frame === 0 }, frame === 0);
        expect(result).toMatchObject({ pictureId: expectedPid, tl0PicIdx: expectedTl0, keyIdx: expectedKey });
        layer.pictureId = (layer.pictureId + 1) & 0x7fff;
        expectedPid = (expectedPid + 1) & 0x7fff;
      }
      // The next layer's key frame follows on from the last values sent.
      layer.tl0 = (layer.tl0 + 1) & 0xff;
      layer.keyIdx = (layer.keyIdx + 1) & 0x1f;
      expectedTl0 = (expectedTl0 + 1) & 0xff;
      expectedKey = (expectedKey + 1) & 0x1f;
    }
  });

  test('reordering across a switch: late packets of the new key frame get its id; older ones are dropped', () => {
    const munger = new Vp8Munger();
    send(munger, { pictureId: 50, tl0: 1, tid: 0, keyIdx: 0, key: true }, true);
    send(munger, { pictureId: 51, tl0: 1, tid: 1, keyIdx: 0 });
    // Layer B's key frame is picture 700 in three packets; the first arrives, then the next frame, then the rest.
    expect(send(munger, { pictureId: 700, tl0: 90, tid: 0, keyIdx: 9, key: true }, true)).toMatchObject({ pictureId: 52, tl0PicIdx: 2, keyIdx: 1 });
    expect(send(munger, { pictureId: 701, tl0: 90, tid: 1, keyIdx: 9 })).toMatchObject({ pictureId: 53, tl0PicIdx: 2, keyIdx: 1 });
    expect(send(munger, { pictureId: 700, tl0: 90, tid: 0, keyIdx: 9, start: false })).toMatchObject({ pictureId: 52, tl0PicIdx: 2, keyIdx: 1 });
    expect(send(munger, { pictureId: 701, tl0: 90, tid: 1, keyIdx: 9, start: false })).toMatchObject({ pictureId: 53 });
    expect(send(munger, { pictureId: 700, tl0: 90, tid: 0, keyIdx: 9, start: false })).toMatchObject({ pictureId: 52 });
    // A packet of layer B from before its key frame cannot be placed: the subscriber never had that frame.
    expect(send(munger, { pictureId: 699, tl0: 89, tid: 1, keyIdx: 9 })).toBe('drop');
    expect(send(munger, { pictureId: 702, tl0: 91, tid: 0, keyIdx: 9 })).toMatchObject({ pictureId: 54, tl0PicIdx: 3 });
  });

  test('a non-key first packet anchors the mapping all the same', () => {
    const munger = new Vp8Munger();
    // The middle of a frame, never seen from its start: passes as it is and anchors there.
    const first = packet({ pictureId: 200, tl0: 20, tid: 1, keyIdx: 4, start: false });
    expect(munger.munge(first, { switched: false, maxTemporalLayer: NO_LIMIT })).toBe(first);
    expect(pid(send(munger, { pictureId: 201, tl0: 21, tid: 0, keyIdx: 4 }))).toBe(201);
    expect(send(munger, { pictureId: 199, tl0: 20, tid: 0, keyIdx: 4 })).toBe('drop');
    expect(pid(send(munger, { pictureId: 200, tl0: 20, tid: 1, keyIdx: 4 }))).toBe(200);
    // A switch whose first packet is not a key frame follows on just the same.
    expect(send(munger, { pictureId: 5, wide: false, tl0: 0, tid: 2, keyIdx: 0, start: false }, true)).toMatchObject({ pictureId: 202 & 0x7f, tl0PicIdx: 22, keyIdx: 5 });
    expect(send(munger, { pictureId: 6, wide: false, tl0: 1, tid: 0, keyIdx: 0 })).toMatchObject({ pictureId: 203 & 0x7f, tl0PicIdx: 23 });
  });

  test('a switch whose first packet carries no PictureID anchors on the first that does', () => {
    const munger = new Vp8Munger();
    send(munger, { pictureId: 400, tl0: 1, tid: 0, key: true }, true);
    const bare = packet({ key: true });
    expect(munger.munge(bare, { switched: true, maxTemporalLayer: NO_LIMIT })).toBe(bare);
    expect(send(munger, { pictureId: 9000, tl0: 77, tid: 0 })).toMatchObject({ pictureId: 401, tl0PicIdx: 2 });
    expect(send(munger, { pictureId: 9001, tl0: 77, tid: 1 })).toMatchObject({ pictureId: 402, tl0PicIdx: 2 });
  });
});

describe('Vp8Munger: wraps', () => {
  test('7-bit PictureID: incoming wrap at 127 and outgoing wrap at 127, offset kept', () => {
    const munger = new Vp8Munger();
    send(munger, { pictureId: 120, wide: false, tid: 0, key: true }, true);
    send(munger, { pictureId: 121, wide: false, tid: 0 });
    // Switch to a 7-bit layer about to wrap: outgoing continues at 122.
    const outs: number[] = [];
    for (const incoming of [126, 127, 0, 1, 2, 3, 4, 5, 6, 7]) {
      const result = send(munger, { pictureId: incoming, wide: false, tid: 0, key: incoming === 126 }, incoming === 126);
      expect((result as Vp8Descriptor).pictureIdWide).toBe(false);
      outs.push(pid(result));
    }
    expect(outs).toEqual([122, 123, 124, 125, 126, 127, 0, 1, 2, 3]);
  });

  test('15-bit PictureID: incoming wrap at 32767 and outgoing wrap at 32767', () => {
    const munger = new Vp8Munger();
    send(munger, { pictureId: 32765, tid: 0, key: true }, true);
    send(munger, { pictureId: 32766, tid: 0 });
    const outs: number[] = [];
    for (const incoming of [32760, 32761, 32762, 32763, 32764, 32765, 32766, 32767, 0, 1]) {
      const result = send(munger, { pictureId: incoming, wide: true, tid: 0, key: incoming === 32760 }, incoming === 32760);
      expect((result as Vp8Descriptor).pictureIdWide).toBe(true);
      outs.push(pid(result));
    }
    expect(outs).toEqual([32767, 0, 1, 2, 3, 4, 5, 6, 7, 8]);
  });

  test('a 7-bit PictureID that the sender extends to 15 bits after 127 keeps each packet\'s width', () => {
    const munger = new Vp8Munger();
    send(munger, { pictureId: 10, wide: true, tid: 0, key: true }, true);
    const widths: boolean[] = [];
    const outs: number[] = [];
    for (const [incoming, wide] of [[126, false], [127, false], [128, true], [129, true]] as const) {
      const result = send(munger, { pictureId: incoming, wide, tid: 0, key: incoming === 126 }, incoming === 126);
      widths.push((result as Vp8Descriptor).pictureIdWide);
      outs.push(pid(result));
    }
    expect(widths).toEqual([false, false, true, true]);
    expect(outs).toEqual([11, 12, 13, 14]);
  });

  test('TL0PICIDX wraps at 255, incoming and outgoing', () => {
    const munger = new Vp8Munger();
    send(munger, { pictureId: 1, tl0: 254, tid: 0, key: true }, true);
    expect(send(munger, { pictureId: 2, tl0: 255, tid: 0 })).toMatchObject({ tl0PicIdx: 255 });
    expect(send(munger, { pictureId: 3, tl0: 0, tid: 0 })).toMatchObject({ tl0PicIdx: 0 });
    // Switch: outgoing 1 follows 0; the new layer's own wrap keeps the offset.
    expect(send(munger, { pictureId: 900, tl0: 254, tid: 0, key: true }, true)).toMatchObject({ tl0PicIdx: 1 });
    expect(send(munger, { pictureId: 901, tl0: 254, tid: 1 })).toMatchObject({ tl0PicIdx: 1 });
    expect(send(munger, { pictureId: 902, tl0: 255, tid: 0 })).toMatchObject({ tl0PicIdx: 2 });
    expect(send(munger, { pictureId: 903, tl0: 0, tid: 0 })).toMatchObject({ tl0PicIdx: 3 });
    // A switch right at the outgoing wrap.
    const wrapAt = new Vp8Munger();
    send(wrapAt, { pictureId: 1, tl0: 255, tid: 0, key: true }, true);
    expect(send(wrapAt, { pictureId: 60, tl0: 17, tid: 0, key: true }, true)).toMatchObject({ tl0PicIdx: 0 });
    expect(send(wrapAt, { pictureId: 61, tl0: 18, tid: 0 })).toMatchObject({ tl0PicIdx: 1 });
  });

  test('KEYIDX wraps at 31, incoming and outgoing', () => {
    const munger = new Vp8Munger();
    send(munger, { pictureId: 1, tid: 0, keyIdx: 30, key: true }, true);
    expect(send(munger, { pictureId: 2, tid: 0, keyIdx: 31, key: true })).toMatchObject({ keyIdx: 31 });
    expect(send(munger, { pictureId: 100, tid: 0, keyIdx: 12, key: true }, true)).toMatchObject({ keyIdx: 0 });
    expect(send(munger, { pictureId: 101, tid: 0, keyIdx: 12 })).toMatchObject({ keyIdx: 0 });
    expect(send(munger, { pictureId: 5000, tid: 0, keyIdx: 31, key: true }, true)).toMatchObject({ keyIdx: 1 });
    // The new layer's KEYIDX wraps 31 → 0 under the offset.
    expect(send(munger, { pictureId: 5001, tid: 0, keyIdx: 0, key: true })).toMatchObject({ keyIdx: 2 });
  });
});

describe('Vp8Munger: temporal layers', () => {
  /** The L1T3 pattern: TIDs of successive frames. */
  const PATTERN = [0, 2, 1, 2];

  test('frames above the max temporal layer are dropped, PictureIDs stay contiguous, TL0PICIDX is untouched', () => {
    for (const max of [0, 1, 2]) {
      const munger = new Vp8Munger();
      const forwarded: { pid: number; tl0: number; tid: number }[] = [];
      let tl0 = 40;
      for (let frame = 0; frame < 24; frame++) {
        const tid = PATTERN[frame % PATTERN.length];
        if (frame > 0 && tid === 0) tl0 += 1;
        // Two packets per frame: both share the frame's fate and id.
        const first = send(munger, { pictureId: 3000 + frame, tl0, tid, key: frame === 0 }, frame === 0, max);
        const second = send(munger, { pictureId: 3000 + frame, tl0, tid, start: false }, false, max);
        if (tid > max) {
          expect(first).toBe('drop');
          expect(second).toBe('drop');
          continue;
        }
        expect(pid(second)).toBe(pid(first));
        forwarded.push({ pid: pid(first), tl0: (first as Vp8Descriptor).tl0PicIdx, tid });
      }
      expect(forwarded.map((f) => f.pid)).toEqual(forwarded.map((_, i) => 3000 + i));
      // TL0PICIDX is the incoming one: it counts TL0 frames, which are never dropped.
      expect(forwarded.filter((f) => f.tid === 0).map((f) => f.tl0)).toEqual([40, 41, 42, 43, 44, 45]);
    }
  });

  test('raising and lowering the max mid-stream keeps PictureIDs contiguous', () => {
    const munger = new Vp8Munger();
    const maxes = [0, 0, 0, 0, 2, 2, 2, 2, 1, 1, 1, 1, 0, 0, 0, 0, 2, 2, 2, 2];
    const outs: number[] = [];
    for (let frame = 0; frame < maxes.length; frame++) {
      const tid = PATTERN[frame % PATTERN.length];
      const result = send(munger, { pictureId: 32760 + frame, tl0: 0, tid, key: frame === 0 }, frame === 0, maxes[frame]);
      expect(result === 'drop').toBe(tid > maxes[frame]);
      if (result !== 'drop') outs.push(result.pictureId);
    }
    expect(outs).toEqual(outs.map((_, i) => (32760 + i) & 0x7fff));
  });

  test('late packets keep their frame\'s fate and id while the offset has moved on', () => {
    const munger = new Vp8Munger();
    expect(pid(send(munger, { pictureId: 100, tid: 0, key: true }, true, 1))).toBe(100);
    expect(send(munger, { pictureId: 101, tid: 2 }, false, 1)).toBe('drop');
    expect(pid(send(munger, { pictureId: 102, tid: 1 }, false, 1))).toBe(101);
    expect(send(munger, { pictureId: 103, tid: 2 }, false, 1)).toBe('drop');
    expect(pid(send(munger, { pictureId: 104, tid: 0 }, false, 1))).toBe(102);
    // Late: the second packets of 100..104, after the offset changed twice.
    expect(pid(send(munger, { pictureId: 100, tid: 0, start: false }, false, 1))).toBe(100);
    expect(send(munger, { pictureId: 101, tid: 2, start: false }, false, 1)).toBe('drop');
    expect(pid(send(munger, { pictureId: 102, tid: 1, start: false }, false, 1))).toBe(101);
    // Even with the max raised since, a dropped frame stays dropped (its id was given to the next one).
    expect(send(munger, { pictureId: 103, tid: 2, start: false }, false, 2)).toBe('drop');
    expect(pid(send(munger, { pictureId: 104, tid: 0, start: false }, false, 2))).toBe(102);
    // The raise to TID 2 happens at a TID 2 layer sync frame.
    expect(pid(send(munger, { pictureId: 105, tid: 2, y: true }, false, 2))).toBe(103);
  });

  test('a frame first seen late keeps its place and is forwarded, whatever its layer', () => {
    const munger = new Vp8Munger();
    expect(pid(send(munger, { pictureId: 10, tid: 0, key: true }, true, 0))).toBe(10);
    // 11 and 12 are late; 13 comes first.
    expect(pid(send(munger, { pictureId: 13, tid: 0 }, false, 0))).toBe(13);
    expect(pid(send(munger, { pictureId: 12, tid: 1 }, false, 0))).toBe(12);
    expect(pid(send(munger, { pictureId: 11, tid: 2 }, false, 0))).toBe(11);
    expect(send(munger, { pictureId: 14, tid: 2 }, false, 0)).toBe('drop');
    expect(pid(send(munger, { pictureId: 15, tid: 0 }, false, 0))).toBe(14);
  });

  test('a lost frame leaves a one-id gap (a real loss), filled if it turns up later', () => {
    const munger = new Vp8Munger();
    send(munger, { pictureId: 500, tid: 0, key: true }, true, 1);
    expect(send(munger, { pictureId: 501, tid: 2 }, false, 1)).toBe('drop');
    expect(pid(send(munger, { pictureId: 503, tid: 0 }, false, 1))).toBe(502);
    expect(pid(send(munger, { pictureId: 502, tid: 1 }, false, 1))).toBe(501);
  });

  test('packets without a PictureID are dropped by TID alone and keep their other fields', () => {
    const munger = new Vp8Munger();
    expect(send(munger, { tl0: 9, tid: 0, keyIdx: 1, key: true }, true, 1)).toMatchObject({ pictureId: -1, tl0PicIdx: 9, keyIdx: 1 });
    expect(send(munger, { tl0: 9, tid: 2, keyIdx: 1 }, false, 1)).toBe('drop');
    expect(send(munger, { tl0: 9, tid: 1, keyIdx: 1 }, false, 1)).toMatchObject({ pictureId: -1, tl0PicIdx: 9, temporalId: 1 });
    // After a switch, TL0PICIDX and KEYIDX still follow on; nothing is added.
    const result = send(munger, { tl0: 200, tid: 0, keyIdx: 20, key: true }, true, 1);
    expect(result).toMatchObject({ pictureId: -1, tl0PicIdx: 10, keyIdx: 2, size: 4 });
    const plain = packet({ key: true });
    expect(munger.munge(plain, { switched: false, maxTemporalLayer: 0 })).toBe(plain);
  });
});

describe('Vp8Munger: raising the temporal layer waits for a frame that can be decoded', () => {
  /** libwebrtc's L1T3: TL0, TL2 (sync: refers to TL0 only), TL1 (sync), TL2 (refers to the TL1 and TL2 before it). */
  const L1T3 = [
    { tid: 0, y: false },
    { tid: 2, y: true },
    { tid: 1, y: true },
    { tid: 2, y: false },
  ];
  /** Sends frames [from, to) of an L1T3 stream at `max`; returns each frame's outgoing id or 'drop'. */
  function frames(munger: Vp8Munger, from: number, to: number, max: number, firstId = 32_700): (number | 'drop')[] {
    const result: (number | 'drop')[] = [];
    for (let frame = from; frame < to; frame++) {
      const { tid, y } = L1T3[frame % 4];
      const out = send(munger, { pictureId: (firstId + frame) & 0x7fff, wide: true, tl0: Math.floor(frame / 4) & 0xff, tid, y, key: frame === 0 }, frame === 0, max);
      result.push(out === 'drop' ? out : out.pictureId);
    }
    return result;
  }

  test('from TL0 up to all layers: one layer at a time, each at its sync frame; ids stay contiguous across the 15-bit wrap', () => {
    const munger = new Vp8Munger();
    expect(frames(munger, 0, 8, 0)).toEqual([32_700, 'drop', 'drop', 'drop', 32_701, 'drop', 'drop', 'drop']);
    // Raised to 2 at frame 8 (TL0): TL2 sync of frame 9 is two layers up (TID 1 frames would still miss their
    // reference), TL1 sync at frame 10 raises to 1, the TL2 of frame 11 refers to a dropped TL2: dropped; the TL2
    // sync at frame 13 raises to 2.
    expect(munger.temporalLayer).toBe(0);
    expect(frames(munger, 8, 16, 2)).toEqual([32_702, 'drop', 32_703, 'drop', 32_704, 32_705, 32_706, 32_707]);
    expect(munger.temporalLayer).toBe(2);
    // ...and on: every frame, ids wrapping at 32767.
    expect(frames(munger, 16, 80, 2)).toEqual(Array.from({ length: 64 }, (_, i) => (32_708 + i) & 0x7fff));
  });

  test('down at the next frame, whatever it is; up at once at a key frame', () => {
    const munger = new Vp8Munger();
    expect(frames(munger, 0, 4, 2)).toEqual([100, 101, 102, 103].map((i) => 32_700 - 100 + i));
    // Lowered to 0 in the middle of a pattern: the very next frame (TL2 sync) is dropped.
    expect(frames(munger, 4, 7, 0)).toEqual([32_704, 'drop', 'drop']);
    expect(munger.temporalLayer).toBe(0);
    // A key frame (a PLI, a publisher's own) brings every layer back at once.
    expect(pid(send(munger, { pictureId: 32_707, tl0: 2, tid: 0, key: true }, false, 2))).toBe(32_705);
    expect(munger.temporalLayer).toBe(2);
    expect(pid(send(munger, { pictureId: 32_708, tl0: 2, tid: 2 }, false, 2))).toBe(32_706);
    expect(pid(send(munger, { pictureId: 32_709, tl0: 2, tid: 1 }, false, 2))).toBe(32_707);
  });

  test('a source that never sets Y is raised at its next TL0 frame', () => {
    const munger = new Vp8Munger();
    const tids = [0, 2, 1, 2, 0, 2, 1, 2, 0, 2];
    const maxes = [0, 0, 0, 0, 0, 2, 2, 2, 2, 2];
    const out = tids.map((tid, frame) => {
      const result = send(munger, { pictureId: 500 + frame, tl0: frame >> 2, tid, key: frame === 0 }, frame === 0, maxes[frame]);
      return result === 'drop' ? result : result.pictureId;
    });
    expect(out).toEqual([500, 'drop', 'drop', 'drop', 501, 'drop', 'drop', 'drop', 502, 503]);
  });

  test('a new source starts at the max (it starts at a key frame)', () => {
    const munger = new Vp8Munger();
    frames(munger, 0, 6, 0);
    expect(munger.temporalLayer).toBe(0);
    expect(send(munger, { pictureId: 9000, tl0: 0, tid: 0, key: true }, true, 2)).toMatchObject({ pictureId: 32_702 });
    expect(munger.temporalLayer).toBe(2);
    expect(send(munger, { pictureId: 9001, tl0: 0, tid: 2 }, false, 2)).toMatchObject({ pictureId: 32_703 });
  });

  test('a frame dropped while a raise waits stays dropped when retransmitted; a forwarded one keeps its id', () => {
    const munger = new Vp8Munger();
    frames(munger, 0, 8, 0);
    frames(munger, 8, 12, 2); // 32_702, drop, 32_703, drop
    const resend = (frame: number) => {
      const { tid, y } = L1T3[frame % 4];
      const out = munger.mungeRetransmission(packet({ pictureId: 32_700 + frame, wide: true, tl0: frame >> 2, tid, y }));
      return out === 'drop' ? out : parseVp8Descriptor(out)!.pictureId;
    };
    expect(resend(9)).toBe('drop');
    expect(resend(10)).toBe(32_703);
    expect(resend(11)).toBe('drop');
  });

  test('dropContinuesFrame: a dropped frame\'s later packets, right after its earlier ones', () => {
    const munger = new Vp8Munger();
    const decide = (f: Fields) => [munger.decide(packet(f), { switched: f.key === true, maxTemporalLayer: 0 }), munger.dropContinuesFrame];
    expect(decide({ pictureId: 10, tid: 0, key: true })).toEqual([Vp8Verdict.Unchanged, false]);
    expect(decide({ pictureId: 11, tid: 1 })).toEqual([Vp8Verdict.Drop, false]);
    expect(decide({ pictureId: 11, tid: 1, start: false })).toEqual([Vp8Verdict.Drop, true]);
    expect(decide({ pictureId: 11, tid: 1, start: false })).toEqual([Vp8Verdict.Drop, true]);
    // The next frame, dropped too: its first packet may follow a loss of the frame before.
    expect(decide({ pictureId: 12, tid: 1 })).toEqual([Vp8Verdict.Drop, false]);
    expect(decide({ pictureId: 13, tid: 0 })).toEqual([Vp8Verdict.Rewritten, false]);
    // A late packet of frame 12 after a forwarded one: its neighbours are not known to be of its frame.
    expect(decide({ pictureId: 12, tid: 1, start: false })).toEqual([Vp8Verdict.Drop, false]);
  });
});

describe('Vp8Munger: bad input and discontinuities', () => {
  test('short or malformed payloads pass unchanged without throwing, and leave the state alone', () => {
    const munger = new Vp8Munger();
    send(munger, { pictureId: 60, tl0: 3, tid: 0, key: true }, true);
    send(munger, { pictureId: 7000, tl0: 100, tid: 0, key: true }, true);
    for (const bytes of [[], [0x90], [0x80], [0x90, 0x80], [0x90, 0x80, 0x85], [0x90, 0x40], [0x90, 0x30], [0x90, 0xf0, 0x81, 0x02, 0x03]]) {
      const payload = Buffer.from(bytes);
      expect(munger.munge(payload, { switched: false, maxTemporalLayer: 0 })).toBe(payload);
      expect(munger.mungeRetransmission(payload)).toBe(payload);
    }
    expect(send(munger, { pictureId: 7001, tl0: 100, tid: 1 })).toMatchObject({ pictureId: 62, tl0PicIdx: 4 });
  });

  test('a malformed first packet of a switch: the next valid one anchors', () => {
    const munger = new Vp8Munger();
    send(munger, { pictureId: 60, tl0: 3, tid: 0, key: true }, true);
    const junk = Buffer.from([0x90, 0x80]);
    expect(munger.munge(junk, { switched: true, maxTemporalLayer: NO_LIMIT })).toBe(junk);
    expect(send(munger, { pictureId: 20, wide: false, tl0: 50, tid: 0, key: true })).toMatchObject({ pictureId: 61, tl0PicIdx: 4 });
  });

  test('random bytes never throw', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.uint8Array({ maxLength: 10 }), fc.boolean(), fc.integer({ min: -1, max: 3 })), { maxLength: 40 }), (inputs) => {
        const munger = new Vp8Munger();
        for (const [bytes, switched, max] of inputs) {
          const payload = Buffer.from(bytes);
          const out = munger.munge(payload, { switched, maxTemporalLayer: max });
          expect(out === 'drop' || out.length === payload.length).toBe(true);
          munger.mungeRetransmission(payload);
        }
      }),
      { numRuns: 500 },
    );
  });

  test('a jump the window cannot bridge: dropped until a key frame, which follows on', () => {
    const munger = new Vp8Munger();
    send(munger, { pictureId: 1000, tid: 0, key: true }, true);
    expect(pid(send(munger, { pictureId: 1001, tid: 0 }))).toBe(1001);
    // The publisher restarted its count on the same source.
    expect(send(munger, { pictureId: 20000, tid: 0 })).toBe('drop');
    expect(send(munger, { pictureId: 20001, tid: 0 })).toBe('drop');
    expect(pid(send(munger, { pictureId: 20002, tid: 0, key: true }))).toBe(1002);
    expect(pid(send(munger, { pictureId: 20003, tid: 0 }))).toBe(1003);
    expect(send(munger, { pictureId: 20001, tid: 0 })).toBe('drop');
  });

  test('a gap within the window is kept, even before a key frame', () => {
    const munger = new Vp8Munger();
    send(munger, { pictureId: 1000, tid: 0, key: true }, true);
    expect(pid(send(munger, { pictureId: 1040, tid: 0, key: true }))).toBe(1040);
    expect(pid(send(munger, { pictureId: 1039, tid: 2 }, false, 0))).toBe(1039);
  });
});

describe('Vp8Munger: retransmissions', () => {
  test('a retransmitted packet gets the id it was first sent with, or stays dropped; no state changes', () => {
    const munger = new Vp8Munger();
    send(munger, { pictureId: 10, tl0: 0, tid: 0, keyIdx: 0, key: true }, true, 1);
    send(munger, { pictureId: 8000, tl0: 33, tid: 0, keyIdx: 5, key: true }, true, 1);
    send(munger, { pictureId: 8001, tl0: 33, tid: 2 }, false, 1);
    send(munger, { pictureId: 8002, tl0: 33, tid: 1 }, false, 1);
    const resend = (f: Fields) => {
      const out = munger.mungeRetransmission(packet(f));
      return out === 'drop' ? out : parseVp8Descriptor(out)!;
    };
    expect(resend({ pictureId: 8000, tl0: 33, tid: 0, keyIdx: 5, key: true })).toMatchObject({ pictureId: 11, tl0PicIdx: 1, keyIdx: 1 });
    expect(resend({ pictureId: 8001, tl0: 33, tid: 2 })).toBe('drop');
    expect(resend({ pictureId: 8002, tl0: 33, tid: 1 })).toMatchObject({ pictureId: 12, tl0PicIdx: 1 });
    // Never forwarded, or from before the switch: not ours to send.
    expect(resend({ pictureId: 8003, tl0: 33, tid: 0 })).toBe('drop');
    expect(resend({ pictureId: 7999, tl0: 32, tid: 0 })).toBe('drop');
    expect(pid(send(munger, { pictureId: 8003, tl0: 34, tid: 0 }, false, 1))).toBe(13);
  });
});

describe('Vp8Munger: random streams (property)', () => {
  interface Sent {
    source: number;
    frame: number;
    tid: number;
    keyframe: boolean;
    start: boolean;
    payload: Buffer;
  }

  const sourceArb = fc.record({
    wide: fc.boolean(),
    firstPictureId: fc.integer({ min: 0, max: 0x7fff }),
    firstTl0: fc.integer({ min: 0, max: 255 }),
    keyIdx: fc.integer({ min: 0, max: 31 }),
    frames: fc.integer({ min: 1, max: 160 }),
    tids: fc.array(fc.integer({ min: 0, max: 2 }), { minLength: 1, maxLength: 8 }),
    packetsPerFrame: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 5 }),
    /** Per packet after the first: how far (in packets) it may arrive late. */
    delays: fc.array(fc.nat({ max: 5 }), { minLength: 1, maxLength: 50 }),
  });
  const streamArb = fc.record({
    sources: fc.array(sourceArb, { minLength: 1, maxLength: 4 }),
    /** The max temporal layer in force at each packet, cycled. */
    maxes: fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 20 }),
    maxRun: fc.integer({ min: 1, max: 40 }),
  });

  test('forwarded frames get consecutive PictureIDs modulo the width; all packets of a frame the same id', () => {
    fc.assert(
      fc.property(streamArb, ({ sources, maxes, maxRun }) => {
        const munger = new Vp8Munger();
        const order: Sent[] = [];
        sources.forEach((s, source) => {
          const sent: Sent[] = [];
          let tl0 = s.firstTl0;
          for (let frame = 0; frame < s.frames; frame++) {
            const tid = frame === 0 ? 0 : s.tids[frame % s.tids.length];
            if (frame > 0 && tid === 0) tl0 = (tl0 + 1) & 0xff;
            const pictureId = (s.firstPictureId + frame) % (s.wide ? 0x8000 : 0x80);
            const count = s.packetsPerFrame[frame % s.packetsPerFrame.length];
            for (let p = 0; p < count; p++) {
              const keyframe = frame === 0 && p === 0;
              const payload = packet({ pictureId, wide: s.wide, tl0, tid, y: tid > 0, keyIdx: s.keyIdx, start: p === 0, key: keyframe });
              sent.push({ source, frame, tid, keyframe, start: p === 0, payload });
            }
          }
          // Bounded reordering; the key frame's first packet stays first (the Forwarder starts there).
          const keyed = sent.map((packet, i) => ({ packet, at: i === 0 ? -1 : i + s.delays[i % s.delays.length] + i / sent.length }));
          keyed.sort((a, b) => a.at - b.at);
          order.push(...keyed.map((k) => k.packet));
        });

        /** Per frame (source:frame): the outgoing ids, and the max in force at its first arrival. */
        const outIds = new Map<string, number[]>();
        const dropped = new Map<string, number>();
        const firstMax = new Map<string, number>();
        /** The temporal layer forwarded once the frame's first packet was decided on. */
        const layerAt = new Map<string, number>();
        const skipped = new Set<string>();
        const newest = new Map<number, number>();
        const descriptors = new Map<string, Vp8Descriptor>();
        let untouched = true;
        let widthKept = true;
        order.forEach((sent, i) => {
          const key = `${sent.source}:${sent.frame}`;
          const max = maxes[Math.floor(i / maxRun) % maxes.length];
          const switched = i === 0 || order[i - 1].source !== sent.source;
          if (!firstMax.has(key)) {
            firstMax.set(key, max);
            // A frame first seen after a newer frame of its source was: kept in place whatever its layer.
            if ((newest.get(sent.source) ?? -1) > sent.frame) skipped.add(key);
          }
          newest.set(sent.source, Math.max(newest.get(sent.source) ?? -1, sent.frame));
          const before = Buffer.from(sent.payload);
          const layerBefore = munger.temporalLayer;
          const out = munger.munge(sent.payload, { switched, maxTemporalLayer: max });
          if (!layerAt.has(key)) {
            const layer = munger.temporalLayer;
            layerAt.set(key, layer);
            // Up only at a new source, a key frame, a sync frame of the next layer (every TID > 0 frame here has Y), or
            // a TL0 frame of a source that has sent no Y bit yet.
            if (layer > layerBefore && !switched && !sent.keyframe) {
              expect(sent.tid === layerBefore + 1 ? layer === sent.tid : sent.tid === 0 && layer === max).toBe(true);
            }
          }
          if (!sent.payload.equals(before)) untouched = false;
          if (out === 'drop') {
            dropped.set(key, (dropped.get(key) ?? 0) + 1);
            return;
          }
          const d = parseVp8Descriptor(out)!;
          if (d.pictureIdWide !== sources[sent.source].wide) widthKept = false;
          outIds.set(key, [...(outIds.get(key) ?? []), d.pictureId]);
          descriptors.set(key, { ...d });
        });

        expect(untouched).toBe(true);
        expect(widthKept).toBe(true);
        const forwarded: { key: string; id: number; wide: boolean; tl0: number; keyIdx: number; tid: number }[] = [];
        sources.forEach((s, source) => {
          for (let frame = 0; frame < s.frames; frame++) {
            const key = `${source}:${frame}`;
            const ids = outIds.get(key);
            const tid = frame === 0 ? 0 : s.tids[frame % s.tids.length];
            if (!ids) {
              // Dropped whole, and only for its layer: above the max, or above the layer a raise is waiting at.
              expect(tid).toBeGreaterThan(layerAt.get(key)!);
              expect(skipped.has(key)).toBe(false);
              continue;
            }
            // Forwarded whole, with one id.
            expect(dropped.has(key)).toBe(false);
            expect(new Set(ids).size).toBe(1);
            if (!skipped.has(key)) expect(tid).toBeLessThanOrEqual(firstMax.get(key)!);
            const d = descriptors.get(key)!;
            forwarded.push({ key, id: ids[0], wide: s.wide, tl0: d.tl0PicIdx, keyIdx: d.keyIdx, tid });
          }
        });
        expect(forwarded.length).toBeGreaterThan(0);
        for (let i = 1; i < forwarded.length; i++) {
          const [a, b] = [forwarded[i - 1], forwarded[i]];
          const modulus = a.wide && b.wide ? 0x8000 : 0x80;
          expect((b.id - a.id - 1 + 0x10000) % modulus, `${a.key} → ${b.key}`).toBe(0);
          // TL0PICIDX steps by one at each TL0 frame, KEYIDX at each new source's key frame.
          const newSource = a.key.split(':')[0] !== b.key.split(':')[0];
          expect((b.tl0 - a.tl0 + 256) % 256).toBe(b.tid === 0 ? 1 : 0);
          expect((b.keyIdx - a.keyIdx + 32) % 32).toBe(newSource ? 1 : 0);
        }
      }),
      { numRuns: 200 },
    );
  });
});
