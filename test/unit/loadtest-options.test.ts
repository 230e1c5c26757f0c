import { expect, test } from 'vitest';
import { OptionsError, parseOptions, serverUrls } from '../../bench/loadtest/options.js';
import { joinPlan } from '../../bench/loadtest/join-plan.js';

test('the signaling URL: an http(s) base gets /v1/rtc, a ws(s) URL is kept as given', () => {
  expect(serverUrls('http://10.0.0.5:7880')).toEqual({ signalingUrl: 'ws://10.0.0.5:7880/v1/rtc', httpBase: 'http://10.0.0.5:7880' });
  expect(serverUrls('https://sfu.example.org/')).toEqual({ signalingUrl: 'wss://sfu.example.org/v1/rtc', httpBase: 'https://sfu.example.org' });
  expect(serverUrls('wss://sfu.example.org/custom/rtc')).toEqual({ signalingUrl: 'wss://sfu.example.org/custom/rtc', httpBase: 'https://sfu.example.org' });
  expect(serverUrls('ws://127.0.0.1:7880')).toEqual({ signalingUrl: 'ws://127.0.0.1:7880/v1/rtc', httpBase: 'http://127.0.0.1:7880' });
  expect(() => serverUrls('ftp://x')).toThrow(OptionsError);
  expect(() => serverUrls('not a url')).toThrow(/not a URL/);
});

test('the key comes from the command line, TSFU_API_KEY/SECRET, or the first TSFU_AUTH_KEYS entry; --dev needs none', () => {
  const secret = 'a-secret:with-colons-a-secret-a-secret';
  const fromArgs = parseOptions(['--url', 'http://h:1', '--api-key', 'k', '--api-secret', 's'], {});
  expect(fromArgs !== 'help' && fromArgs.token).toEqual({ kind: 'key', kid: 'k', secret: 's' });
  const fromAuthKeys = parseOptions(['--url', 'http://h:1'], { TSFU_AUTH_KEYS: `main:${secret},old:x` });
  expect(fromAuthKeys !== 'help' && fromAuthKeys.token).toEqual({ kind: 'key', kid: 'main', secret });
  const dev = parseOptions(['--url', 'http://h:1', '--dev'], {});
  expect(dev !== 'help' && dev.token).toEqual({ kind: 'dev', httpBase: 'http://h:1' });
  expect(() => parseOptions(['--url', 'http://h:1'], {})).toThrow(/no signing key/);
  expect(() => parseOptions(['--url', 'http://h:1', '--dev', '--rooms', '0'], {})).toThrow(/--rooms must be a whole number >= 1/);
  expect(() => parseOptions(['--url', 'http://h:1', '--dev', '--max-failures', 'some'], {})).toThrow(/--max-failures/);
  const share = parseOptions(['--url', 'http://h:1', '--dev', '--max-failures', '2.5%'], {});
  expect(share !== 'help' && [share.maxFailures, share.maxFailuresShare]).toEqual([2.5, true]);
});

test('publishers of every room join before any subscriber, with identities unique per room', () => {
  const plan = joinPlan({ rooms: 2, publishers: 1, subscribers: 2, roomPrefix: 'lt' }, 'abc');
  expect(plan.map((j) => `${j.role}:${j.room}:${j.identity}`)).toEqual([
    'publisher:lt-abc-0:pub-0-0',
    'publisher:lt-abc-1:pub-1-0',
    'subscriber:lt-abc-0:sub-0-0',
    'subscriber:lt-abc-1:sub-1-0',
    'subscriber:lt-abc-0:sub-0-1',
    'subscriber:lt-abc-1:sub-1-1',
  ]);
  expect(plan.map((j) => j.index)).toEqual([0, 1, 2, 3, 4, 5]);
});
