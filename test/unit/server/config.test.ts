import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { ConfigError, defaultConfig, isDevelopmentMode, loadConfig } from '../../../server/config.js';

const file = (content: unknown) => {
  const path = join(mkdtempSync(join(tmpdir(), 'tsfu-config-')), 'config.json');
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
};

test('defaults describe a single development node on 127.0.0.1', () => {
  const config = loadConfig();
  expect(config).toEqual(defaultConfig());
  expect(config.http.host).toBe('127.0.0.1');
  expect(config.rtc.listenIp).toBe('127.0.0.1');
  expect(isDevelopmentMode(config)).toBe(true);
});

test('file, then environment, then overrides', () => {
  const path = file({ http: { port: 9000 }, rtc: { announcedIp: '203.0.113.7' }, auth: { keys: { a: 'a'.repeat(32) } } });
  const config = loadConfig({ file: path, env: { TSFU_HTTP_PORT: '9001', TSFU_AUTH_KEYS: `k1:${'s'.repeat(32)},k2:${'t'.repeat(32)}` }, overrides: { log: { level: 'warn' } } });
  expect(config.http).toEqual({ host: '127.0.0.1', port: 9001 });
  expect(config.rtc.announcedIp).toBe('203.0.113.7');
  expect(config.auth.keys).toEqual({ k1: 's'.repeat(32), k2: 't'.repeat(32) });
  expect(config.log.level).toBe('warn');
  expect(isDevelopmentMode(config)).toBe(false);
});

test('unknown keys are rejected by name, in a file or the environment', () => {
  expect(() => loadConfig({ file: file({ http: { prot: 1 } }) })).toThrow(new ConfigError('unknown configuration key "http.prot"'));
  expect(() => loadConfig({ file: file({ turnn: {} }) })).toThrow(/unknown configuration key "turnn"/);
  expect(() => loadConfig({ env: { TSFU_HTTP_PROT: '1' } })).toThrow(/unknown environment variable TSFU_HTTP_PROT/);
});

test('invalid values are rejected with the path', () => {
  expect(() => loadConfig({ overrides: { http: { port: 70000 } } })).toThrow(/\/http\/port/);
  expect(() => loadConfig({ overrides: { auth: { keys: { k: 'short' } } } })).toThrow(/\/auth\/keys\/k/);
  expect(() => loadConfig({ overrides: { rtc: { portMin: 5000, portMax: 4000 } } })).toThrow(/portMin/);
  expect(() => loadConfig({ overrides: { signaling: { heartbeatIntervalMs: 5000, heartbeatTimeoutMs: 1000 } } })).toThrow(/heartbeatTimeoutMs/);
  expect(() => loadConfig({ file: file('{not json') })).toThrow(/cannot read config file/);
  expect(() => loadConfig({ env: { TSFU_AUTH_KEYS: 'nocolon' } })).toThrow(/kid:secret/);
});

test('rtc.udpPort: off (-1) by default, set from TSFU_RTC_UDP_PORT, and -1..65535 only', () => {
  expect(loadConfig().rtc.udpPort).toBe(-1);
  expect(loadConfig({ env: { TSFU_RTC_UDP_PORT: '7882' } }).rtc.udpPort).toBe(7882);
  expect(() => loadConfig({ overrides: { rtc: { udpPort: -2 } } })).toThrow(/\/rtc\/udpPort/);
  expect(() => loadConfig({ overrides: { rtc: { udpPort: 65536 } } })).toThrow(/\/rtc\/udpPort/);
});

test('rtc.tcpPort: off (-1) by default, and only with rtc.udpPort (its ufrags route the connections)', () => {
  expect(loadConfig().rtc.tcpPort).toBe(-1);
  expect(loadConfig({ env: { TSFU_RTC_UDP_PORT: '7882', TSFU_RTC_TCP_PORT: '7881' } }).rtc.tcpPort).toBe(7881);
  expect(() => loadConfig({ overrides: { rtc: { tcpPort: 7881 } } })).toThrow(/rtc.tcpPort needs rtc.udpPort/);
});
