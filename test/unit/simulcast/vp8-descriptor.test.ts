import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { createVp8Descriptor, parseVp8Descriptor, vp8TemporalId, writeVp8Descriptor } from '../../../sfu/simulcast/vp8-descriptor.js';

interface Fields {
  n?: boolean;
  s?: boolean;
  partition?: number;
  pictureId?: number;
  wide?: boolean;
  tl0?: number;
  tid?: number;
  y?: boolean;
  keyIdx?: number;
  /** Bytes after the descriptor; default a key frame's payload header start (P = 0). */
  body?: number[];
}

/** RFC 7741 §4.2 bytes for the given fields; X is set when any extension field is given. */
function build(f: Fields): Buffer {
  const bytes: number[] = [];
  const extended = f.pictureId !== undefined || f.tl0 !== undefined || f.tid !== undefined || f.keyIdx !== undefined;
  bytes.push((extended ? 0x80 : 0) | (f.n ? 0x20 : 0) | (f.s ?? true ? 0x10 : 0) | (f.partition ?? 0));
  if (extended) {
    bytes.push((f.pictureId !== undefined ? 0x80 : 0) | (f.tl0 !== undefined ? 0x40 : 0) | (f.tid !== undefined ? 0x20 : 0) | (f.keyIdx !== undefined ? 0x10 : 0));
    if (f.pictureId !== undefined) {
      if (f.wide ?? f.pictureId > 127) bytes.push(0x80 | (f.pictureId >> 8), f.pictureId & 0xff);
      else bytes.push(f.pictureId);
    }
    if (f.tl0 !== undefined) bytes.push(f.tl0);
    if (f.tid !== undefined || f.keyIdx !== undefined) bytes.push(((f.tid ?? 0) << 6) | (f.y ? 0x20 : 0) | (f.keyIdx ?? 0));
  }
  bytes.push(...(f.body ?? [0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a]));
  return Buffer.from(bytes);
}

describe('parseVp8Descriptor', () => {
  test('the one-byte descriptor: no extension fields', () => {
    const d = parseVp8Descriptor(build({ n: true, s: true, partition: 0 }));
    expect(d).toEqual({
      nonReference: true,
      startOfPartition: true,
      partitionIndex: 0,
      pictureId: -1,
      pictureIdWide: false,
      tl0PicIdx: -1,
      temporalId: -1,
      layerSync: false,
      keyIdx: -1,
      size: 1,
      keyframe: true,
    });
  });

  test('a 7-bit PictureID (M = 0) takes one byte', () => {
    const d = parseVp8Descriptor(build({ pictureId: 0x55, wide: false }));
    expect(d?.pictureId).toBe(0x55);
    expect(d?.pictureIdWide).toBe(false);
    expect(d?.size).toBe(3);
  });

  test('a 15-bit PictureID (M = 1) takes two bytes, most significant first', () => {
    const d = parseVp8Descriptor(build({ pictureId: 0x7abc, wide: true }));
    expect(d?.pictureId).toBe(0x7abc);
    expect(d?.pictureIdWide).toBe(true);
    expect(d?.size).toBe(4);
    // A small value may still be sent wide: the M bit, not the value, sets the width.
    const small = parseVp8Descriptor(build({ pictureId: 5, wide: true }));
    expect(small?.pictureId).toBe(5);
    expect(small?.pictureIdWide).toBe(true);
    expect(small?.size).toBe(4);
  });

  test('every extension field together', () => {
    const d = parseVp8Descriptor(build({ pictureId: 300, tl0: 0xfe, tid: 2, y: true, keyIdx: 0x1d, s: false, partition: 3, n: true }));
    expect(d).toMatchObject({
      nonReference: true,
      startOfPartition: false,
      partitionIndex: 3,
      pictureId: 300,
      pictureIdWide: true,
      tl0PicIdx: 0xfe,
      temporalId: 2,
      layerSync: true,
      keyIdx: 0x1d,
      size: 6,
      keyframe: false,
    });
  });

  test('T without K leaves KEYIDX absent, K without T leaves TID absent', () => {
    const tOnly = Buffer.from([0x90, 0x20, 0xff, 0x00]);
    expect(parseVp8Descriptor(tOnly)).toMatchObject({ temporalId: 3, layerSync: true, keyIdx: -1, size: 3 });
    const kOnly = Buffer.from([0x90, 0x10, 0xff, 0x00]);
    expect(parseVp8Descriptor(kOnly)).toMatchObject({ temporalId: -1, layerSync: false, keyIdx: 0x1f, size: 3 });
  });

  test('X set with no field flagged: a two-byte descriptor', () => {
    expect(parseVp8Descriptor(Buffer.from([0x90, 0x00, 0x00]))).toMatchObject({ pictureId: -1, size: 2, keyframe: true });
  });

  test('reserved bits are ignored', () => {
    const d = parseVp8Descriptor(Buffer.from([0x80 | 0x40 | 0x10 | 0x08, 0x80 | 0x0f, 0x12, 0x00]));
    expect(d).toMatchObject({ pictureId: 0x12, partitionIndex: 0, startOfPartition: true, size: 3, keyframe: true });
  });

  test('key frame: S = 1, PID = 0 and the payload header P bit 0 (RFC 7741 §4.3)', () => {
    expect(parseVp8Descriptor(build({ pictureId: 1, body: [0x10] }))?.keyframe).toBe(true);
    expect(parseVp8Descriptor(build({ pictureId: 1, body: [0x11] }))?.keyframe).toBe(false);
    expect(parseVp8Descriptor(build({ pictureId: 1, s: false, body: [0x10] }))?.keyframe).toBe(false);
    expect(parseVp8Descriptor(build({ pictureId: 1, partition: 1, body: [0x10] }))?.keyframe).toBe(false);
  });

  test('a reused object is fully reset by the next parse', () => {
    const out = createVp8Descriptor();
    parseVp8Descriptor(build({ pictureId: 9000, tl0: 3, tid: 1, y: true, keyIdx: 4 }), out);
    const d = parseVp8Descriptor(build({ s: false, body: [0x11] }), out);
    expect(d).toBe(out);
    expect(d).toEqual({ ...createVp8Descriptor(), size: 1 });
  });

  test('short or malformed payloads are undefined, without throwing', () => {
    const full = build({ pictureId: 0x1234, wide: true, tl0: 7, tid: 1, keyIdx: 2, body: [0x10] });
    expect(parseVp8Descriptor(full)).toBeDefined();
    // Every truncation ends inside the descriptor or right after it (no VP8 data).
    for (let length = 0; length < full.length; length++) {
      expect(parseVp8Descriptor(full.subarray(0, length)), `length ${length}`).toBeUndefined();
    }
    expect(parseVp8Descriptor(new Uint8Array(0))).toBeUndefined();
    expect(parseVp8Descriptor(Buffer.from([0x10]))).toBeUndefined();
    expect(parseVp8Descriptor(Buffer.from([0x80]))).toBeUndefined();
    expect(parseVp8Descriptor(Buffer.from([0x80, 0x80]))).toBeUndefined();
    expect(parseVp8Descriptor(Buffer.from([0x80, 0x80, 0x85]))).toBeUndefined();
    expect(parseVp8Descriptor(Buffer.from([0x80, 0x40]))).toBeUndefined();
    expect(parseVp8Descriptor(Buffer.from([0x80, 0x30]))).toBeUndefined();
  });

  test('a view into a larger buffer is read within its bounds', () => {
    const backing = Buffer.from([0xff, 0x90, 0x80, 0x22, 0x10, 0xee]);
    const d = parseVp8Descriptor(backing.subarray(1, 5));
    expect(d).toMatchObject({ pictureId: 0x22, size: 3, keyframe: true });
    expect(parseVp8Descriptor(backing.subarray(1, 4))).toBeUndefined();
  });

  test('random bytes never throw; what parses lies within the payload', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 12 }), (bytes) => {
        const d = parseVp8Descriptor(bytes);
        if (d === undefined) return;
        expect(d.size).toBeGreaterThanOrEqual(1);
        expect(d.size).toBeLessThan(bytes.length);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('writeVp8Descriptor', () => {
  test('rewrites the counters in place, 7-bit PictureID', () => {
    const payload = build({ pictureId: 10, wide: false, tl0: 200, tid: 2, y: true, keyIdx: 3 });
    const d = parseVp8Descriptor(payload)!;
    d.pictureId = 127;
    d.tl0PicIdx = 255;
    d.keyIdx = 31;
    writeVp8Descriptor(payload, d);
    expect(parseVp8Descriptor(payload)).toMatchObject({ pictureId: 127, pictureIdWide: false, tl0PicIdx: 255, temporalId: 2, layerSync: true, keyIdx: 31, size: 5 });
  });

  test('rewrites the counters in place, 15-bit PictureID, keeping the width for small values', () => {
    const payload = build({ pictureId: 0x7fff, wide: true, tl0: 0, keyIdx: 0 });
    const d = parseVp8Descriptor(payload)!;
    d.pictureId = 3;
    writeVp8Descriptor(payload, d);
    expect(parseVp8Descriptor(payload)).toMatchObject({ pictureId: 3, pictureIdWide: true, size: 6 });
    expect([...payload.subarray(2, 4)]).toEqual([0x80, 0x03]);
  });

  test('values are taken modulo their field width', () => {
    const payload = build({ pictureId: 1, wide: false, tl0: 1, keyIdx: 1 });
    const d = parseVp8Descriptor(payload)!;
    d.pictureId = 128 + 5;
    d.tl0PicIdx = 256 + 6;
    d.keyIdx = 32 + 7;
    writeVp8Descriptor(payload, d);
    expect(parseVp8Descriptor(payload)).toMatchObject({ pictureId: 5, pictureIdWide: false, tl0PicIdx: 6, keyIdx: 7 });
  });

  test('KEYIDX is written without touching TID and Y in the same byte', () => {
    const payload = build({ tid: 3, y: true, keyIdx: 0 });
    const d = parseVp8Descriptor(payload)!;
    d.keyIdx = 0x15;
    writeVp8Descriptor(payload, d);
    expect(payload[2]).toBe(0xc0 | 0x20 | 0x15);
  });

  test('writes into a copy at an offset (a datagram after the RTP header), leaving the original alone', () => {
    const payload = build({ pictureId: 1000, tl0: 50, tid: 0, keyIdx: 9 });
    const original = Buffer.from(payload);
    const d = parseVp8Descriptor(payload)!;
    const datagram = Buffer.alloc(12 + payload.length, 0xaa);
    payload.copy(datagram, 12);
    d.pictureId = 2000;
    d.tl0PicIdx = 60;
    d.keyIdx = 10;
    writeVp8Descriptor(datagram, d, 12);
    expect(payload).toEqual(original);
    expect(datagram.subarray(0, 12).every((b) => b === 0xaa)).toBe(true);
    expect(parseVp8Descriptor(datagram.subarray(12))).toMatchObject({ pictureId: 2000, tl0PicIdx: 60, keyIdx: 10, temporalId: 0 });
  });

  test('writing the parsed values back changes no byte', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 10 }), (bytes) => {
        const d = parseVp8Descriptor(bytes);
        if (d === undefined) return;
        const copy = Uint8Array.from(bytes);
        writeVp8Descriptor(copy, d);
        expect(copy).toEqual(bytes);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('vp8TemporalId', () => {
  test('reads the TID wherever the optional fields put it, -1 without one or when cut short', () => {
    expect(vp8TemporalId(build({ pictureId: 30_000, tl0: 7, tid: 2, y: true, keyIdx: 3 }))).toBe(2);
    expect(vp8TemporalId(build({ pictureId: 100, wide: false, tid: 1 }))).toBe(1);
    expect(vp8TemporalId(build({ tl0: 200, tid: 3 }))).toBe(3);
    expect(vp8TemporalId(build({ tid: 0 }))).toBe(0);
    expect(vp8TemporalId(build({ pictureId: 5, keyIdx: 9 }))).toBe(-1);
    expect(vp8TemporalId(build({}))).toBe(-1);
    expect(vp8TemporalId(Buffer.from([0x90, 0xe0, 0x81]))).toBe(-1);
    expect(vp8TemporalId(Buffer.alloc(0))).toBe(-1);
  });

  test('agrees with the full parser on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 8 }), (bytes) => {
        const d = parseVp8Descriptor(bytes);
        // The full parser also rejects a descriptor with no payload after it; where it accepts, they agree.
        if (d) expect(vp8TemporalId(bytes)).toBe(d.temporalId);
      }),
    );
  });
});
