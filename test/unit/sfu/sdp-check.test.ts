import { expect, test } from 'vitest';
import { InvalidSdpError } from '../../../sfu/errors.js';
import { checkSessionDescription } from '../../../sfu/peer/sdp-check.js';

const valid = [
  'v=0',
  'o=- 1 2 IN IP4 127.0.0.1',
  's=-',
  't=0 0',
  'a=group:BUNDLE 0',
  'm=video 9 UDP/TLS/RTP/SAVPF 96',
  'c=IN IP4 0.0.0.0',
  'a=ice-ufrag:abcd',
  'a=ice-pwd:abcdefghijklmnopqrstuv',
  'a=fingerprint:sha-256 00:11',
  'a=mid:0',
  '',
].join('\r\n');

test('accepts a complete description', () => {
  expect(() => checkSessionDescription(valid, 'offer')).not.toThrow();
});

test.each([
  ['plain text', 'hello'],
  ['no o= line', 'v=0\r\ns=-\r\n'],
  ['no media section', 'v=0\r\no=- 1 2 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n'],
  ['a malformed line', valid.replace('t=0 0', 'garbage')],
  ['no ICE credentials', valid.replace('a=ice-ufrag:abcd\r\n', '')],
  ['no fingerprint', valid.replace('a=fingerprint:sha-256 00:11\r\n', '')],
])('rejects %s with a reason', (_name, sdp) => {
  expect(() => checkSessionDescription(sdp, 'offer')).toThrow(InvalidSdpError);
});
