import { expect, test } from 'vitest';
import { signWebhook, verifyWebhook } from '../../../webhooks/index.js';

const SECRET = 'receiver-secret-receiver-secret-0123456789';
const BODY = JSON.stringify({ event: 'participant_joined', id: 'EV_x', room: { name: 'math 101 🧮' } });
const NOW = 1_800_000_000;

test('a signature verifies for the exact body, secret and a fresh timestamp', () => {
  const header = signWebhook(BODY, SECRET, NOW);
  expect(header).toMatch(/^t=1800000000,v1=[0-9a-f]{64}$/);
  expect(verifyWebhook(BODY, header, SECRET, 300, NOW)).toBe(true);
  expect(verifyWebhook(Buffer.from(BODY), header, SECRET, 300, NOW + 299)).toBe(true);
});

test('a tampered body, another secret, a changed timestamp or a stale one fail', () => {
  const header = signWebhook(BODY, SECRET, NOW);
  expect(verifyWebhook(BODY.replace('joined', 'left'), header, SECRET, 300, NOW)).toBe(false);
  expect(verifyWebhook(`${BODY} `, header, SECRET, 300, NOW)).toBe(false);
  expect(verifyWebhook(BODY, header, `${SECRET}x`, 300, NOW)).toBe(false);
  expect(verifyWebhook(BODY, header.replace(`t=${NOW}`, `t=${NOW + 1}`), SECRET, 300, NOW)).toBe(false);
  // A replay of a genuine request past the tolerance.
  expect(verifyWebhook(BODY, header, SECRET, 300, NOW + 301)).toBe(false);
  expect(verifyWebhook(BODY, header, SECRET, 300, NOW - 301)).toBe(false);
});

test('malformed or missing headers fail without throwing', () => {
  const v1 = signWebhook(BODY, SECRET, NOW).split(',')[1];
  for (const header of [undefined, '', 'garbage', `t=${NOW}`, v1, `t=abc,${v1}`, `t=${NOW},v1=zz`, `t=${NOW},v1=${'0'.repeat(64)}`, `t=${NOW},v1=${'a'.repeat(63)}`]) {
    expect(verifyWebhook(BODY, header, SECRET, 300, NOW), String(header)).toBe(false);
  }
});

test('one valid v1 among several is enough (a receiver may be sent more than one during a key change)', () => {
  const header = signWebhook(BODY, SECRET, NOW);
  const [t, v1] = header.split(',');
  expect(verifyWebhook(BODY, `${t},v1=${'0'.repeat(64)},${v1}`, SECRET, 300, NOW)).toBe(true);
});
