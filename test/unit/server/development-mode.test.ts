// Development mode (no auth.keys) serves a full-grant token to anyone at GET /dev/token: the server
// refuses it on an address other machines can reach, unless the operator says so explicitly.
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { startServer } from '../../../server/app.js';
import { ConfigError, defaultConfig, isLoopbackHost, loadConfig } from '../../../server/config.js';

const KEY = { k: 'k'.repeat(32) };

describe('development mode on the network', () => {
  it('refuses a non-loopback http.host without keys, naming the host, the risk and the option', () => {
    let error: unknown;
    try {
      loadConfig({ overrides: { http: { host: '0.0.0.0' } } });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message).toContain('refusing to start in development mode on http.host "0.0.0.0", which is not a loopback address');
    expect(message).toContain('GET /dev/token');
    expect(message).toContain('auth.keys (TSFU_AUTH_KEYS=kid:secret)');
    expect(message).toContain('auth.allowDevelopmentModeOnNetwork (TSFU_ALLOW_DEV_MODE_ON_NETWORK=true)');
  });

  it('refuses it from the environment too, and starts when the environment allows it', () => {
    expect(() => loadConfig({ env: { TSFU_HTTP_HOST: '10.0.0.5' } })).toThrow(/development mode on http\.host "10\.0\.0\.5"/);
    const config = loadConfig({ env: { TSFU_HTTP_HOST: '10.0.0.5', TSFU_ALLOW_DEV_MODE_ON_NETWORK: 'true' } });
    expect(config.auth.allowDevelopmentModeOnNetwork).toBe(true);
    expect(() => loadConfig({ env: { TSFU_HTTP_HOST: '10.0.0.5', TSFU_ALLOW_DEV_MODE_ON_NETWORK: 'false' } })).toThrow(ConfigError);
    expect(() => loadConfig({ env: { TSFU_ALLOW_DEV_MODE_ON_NETWORK: 'yes' } })).toThrow(/\/auth\/allowDevelopmentModeOnNetwork/);
  });

  it('allows it from a config file or overrides', () => {
    expect(loadConfig({ overrides: { http: { host: '::' }, auth: { allowDevelopmentModeOnNetwork: true } } }).http.host).toBe('::');
  });

  it('does not apply once keys are configured', () => {
    expect(loadConfig({ overrides: { http: { host: '0.0.0.0' }, auth: { keys: KEY } } }).http.host).toBe('0.0.0.0');
    expect(loadConfig({ env: { TSFU_HTTP_HOST: '203.0.113.10', TSFU_AUTH_KEYS: `k:${'s'.repeat(32)}` } }).http.host).toBe('203.0.113.10');
  });

  it('keeps development mode on loopback addresses without asking', () => {
    for (const host of ['127.0.0.1', '127.0.1.1', '::1', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1', 'localhost', 'LOCALHOST']) {
      expect(isLoopbackHost(host), host).toBe(true);
      expect(loadConfig({ overrides: { http: { host } } }).http.host).toBe(host);
    }
    for (const host of ['0.0.0.0', '::', '10.0.0.5', '192.168.1.2', '128.0.0.1', '::2', '::ffff:10.0.0.1', 'example.org', 'localhost.example.org']) {
      expect(isLoopbackHost(host), host).toBe(false);
    }
  });

  it('startServer refuses a configuration built by hand, before it opens anything', async () => {
    const config = { ...defaultConfig(), http: { host: '0.0.0.0', port: 0 } };
    await expect(startServer(config, { logger: pino({ level: 'silent' }) })).rejects.toThrow(ConfigError);
  });
});
