import { expect, test } from 'vitest';
import { isH264Keyframe, isVp8Keyframe, keyframeDetectorFor } from '../../../sfu/media/keyframe.js';

const b = (...bytes: number[]) => new Uint8Array(bytes);

test('VP8: key frame bit after the payload descriptor (RFC 7741)', () => {
  expect(isVp8Keyframe(b(0x10, 0x00))).toBe(true); // S=1, PID=0, P=0
  expect(isVp8Keyframe(b(0x10, 0x01))).toBe(false); // inter frame
  expect(isVp8Keyframe(b(0x00, 0x00))).toBe(false); // not the start of a partition
  expect(isVp8Keyframe(b(0x11, 0x00))).toBe(false); // partition 1
  // X=1 with I (15-bit PictureID), L, T: descriptor is 1 + 1 + 2 + 1 + 1 bytes.
  expect(isVp8Keyframe(b(0x90, 0xe0, 0x80, 0x01, 0x05, 0x20, 0x00))).toBe(true);
  expect(isVp8Keyframe(b(0x90, 0xe0, 0x80, 0x01, 0x05, 0x20, 0x01))).toBe(false);
  // 7-bit PictureID only.
  expect(isVp8Keyframe(b(0x90, 0x80, 0x12, 0x00))).toBe(true);
  // Truncated descriptors are not key frames and do not throw.
  expect(isVp8Keyframe(b())).toBe(false);
  expect(isVp8Keyframe(b(0x90))).toBe(false);
  expect(isVp8Keyframe(b(0x90, 0x80))).toBe(false);
});

test('H264: IDR or SPS alone, in STAP-A, or starting a FU-A (RFC 6184)', () => {
  expect(isH264Keyframe(b(0x65))).toBe(true); // IDR
  expect(isH264Keyframe(b(0x67))).toBe(true); // SPS
  expect(isH264Keyframe(b(0x41))).toBe(false); // non-IDR slice
  expect(isH264Keyframe(b(0x7c, 0x85))).toBe(true); // FU-A start, IDR
  expect(isH264Keyframe(b(0x7c, 0x05))).toBe(false); // FU-A continuation
  expect(isH264Keyframe(b(0x78, 0x00, 0x02, 0x67, 0x42, 0x00, 0x01, 0x68))).toBe(true); // STAP-A [SPS, PPS]
  expect(isH264Keyframe(b(0x78, 0x00, 0x01, 0x41))).toBe(false);
  expect(isH264Keyframe(b(0x78, 0xff, 0xff))).toBe(false); // size runs past the end
  expect(isH264Keyframe(b())).toBe(false);
});

test('detectors by mime type; audio needs none', () => {
  expect(keyframeDetectorFor('video/VP8')).toBe(isVp8Keyframe);
  expect(keyframeDetectorFor('video/h264')).toBe(isH264Keyframe);
  expect(keyframeDetectorFor('audio/opus')).toBeUndefined();
});
