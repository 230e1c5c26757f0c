import { expect, test } from 'vitest';
import { loadConfig } from '../../../server/config.js';

const KEYS = `main:${'s'.repeat(32)},old:${'t'.repeat(32)}`;

test('webhooks are off by default and configured from the environment', () => {
  expect(loadConfig().webhooks.urls).toEqual([]);
  const config = loadConfig({ env: { TSFU_AUTH_KEYS: KEYS, TSFU_WEBHOOK_URLS: 'https://a.example/hooks, http://10.0.0.5:8080/x', TSFU_WEBHOOK_API_KEY: 'old' } });
  expect(config.webhooks).toMatchObject({ urls: ['https://a.example/hooks', 'http://10.0.0.5:8080/x'], apiKey: 'old', maxQueue: 1000, maxAttempts: 8 });
});

test('start-up refuses webhooks it could not sign for a receiver, naming the key', () => {
  const env = { TSFU_AUTH_KEYS: KEYS, TSFU_WEBHOOK_URLS: 'https://a.example/hooks' };
  expect(() => loadConfig({ env })).toThrow(/webhooks\.apiKey is empty/);
  expect(() => loadConfig({ env: { ...env, TSFU_WEBHOOK_API_KEY: 'nope' } })).toThrow(/webhooks\.apiKey "nope" is not a kid of auth\.keys \(known: main, old\)/);
  expect(() => loadConfig({ env: { TSFU_WEBHOOK_URLS: 'https://a.example/hooks', TSFU_WEBHOOK_API_KEY: 'main' } })).toThrow(/none configured: development mode/);
});

test('webhook URLs must be http or https and the backoff cap above its start', () => {
  const env = { TSFU_AUTH_KEYS: KEYS, TSFU_WEBHOOK_API_KEY: 'main' };
  expect(() => loadConfig({ env: { ...env, TSFU_WEBHOOK_URLS: 'not a url' } })).toThrow(/"not a url" is not a URL/);
  expect(() => loadConfig({ env: { ...env, TSFU_WEBHOOK_URLS: 'ftp://a.example/x' } })).toThrow(/must be http: or https:/);
  expect(() => loadConfig({ env: { ...env, TSFU_WEBHOOK_URLS: 'https://a.example/x' }, overrides: { webhooks: { backoffInitialMs: 5000, backoffMaxMs: 100 } } })).toThrow(/backoffMaxMs/);
  expect(() => loadConfig({ overrides: { webhooks: { retries: 3 } as never } })).toThrow(/unknown configuration key "webhooks.retries"/);
});
