import { expect, test } from 'vitest';
import { redactUrl } from '../../../webhooks/index.js';

test('logged webhook URLs keep origin and path, never credentials or the query', () => {
  expect(redactUrl('https://user:pass@hooks.example:8443/tsfu/events?token=abc#x')).toBe('https://hooks.example:8443/tsfu/events');
  expect(redactUrl('not a url')).toBe('(invalid url)');
});
