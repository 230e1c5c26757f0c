import { expect, test } from 'vitest';
import { IceRestartAllowance } from '../../../sfu/peer/ice-restart-allowance.js';
import { iceCredentials } from '../../../sfu/peer/sdp-sections.js';

test('a connection restarts ICE `burst` times in a row, then once per interval', () => {
  const allowance = new IceRestartAllowance(3, 10_000, 0);
  expect([allowance.take(0), allowance.take(1), allowance.take(2), allowance.take(3)]).toEqual([true, true, true, false]);
  expect(allowance.take(9_999)).toBe(false);
  expect(allowance.take(10_003)).toBe(true);
  expect(allowance.take(10_004)).toBe(false);
  // A long quiet time earns the burst back, not more.
  expect([allowance.take(1e6), allowance.take(1e6), allowance.take(1e6), allowance.take(1e6)]).toEqual([true, true, true, false]);
});

test('a clock that goes back earns nothing', () => {
  const allowance = new IceRestartAllowance(1, 1000, 5000);
  expect(allowance.take(5000)).toBe(true);
  expect(allowance.take(100)).toBe(false);
  expect(allowance.take(1099)).toBe(false);
  expect(allowance.take(1100)).toBe(true);
});

test("a description's ICE credentials are its first ice-ufrag and ice-pwd, at session or media level", () => {
  expect(iceCredentials('v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\na=ice-ufrag:abcd\r\na=ice-pwd:p4ssw0rdp4ssw0rdp4ssw0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n')).toBe('abcd p4ssw0rdp4ssw0rdp4ssw0');
  expect(iceCredentials('v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\na=ice-ufrag:x\r\na=ice-pwd:y\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=ice-ufrag:q\r\na=ice-pwd:r\r\n')).toBe('x y');
  expect(iceCredentials('v=0\nm=audio 9 UDP/TLS/RTP/SAVPF 111\na=ice-ufrag:x\na=ice-pwd:y\n')).toBe('x y');
  expect(iceCredentials('v=0\r\na=ice-ufrag:x\r\n')).toBeUndefined();
});
