import { expect, test } from 'vitest';
import { decodeDataEnvelope, encodeDataEnvelope, encodeText, parseUpstreamHeader } from '../../../sfu/session/data-envelope.js';

test('round-trips text and binary payloads with their header', () => {
  const text = encodeDataEnvelope({ to: ['b'], topic: 'chat' }, encodeText('héllo'), true);
  const decoded = decodeDataEnvelope(text);
  expect(decoded).toMatchObject({ header: { to: ['b'], topic: 'chat' }, text: true });
  expect(Buffer.from((decoded as { payload: Uint8Array }).payload).toString()).toBe('héllo');
  const binary = decodeDataEnvelope(encodeDataEnvelope({ from: 'a' }, new Uint8Array([0, 255, 7]), false));
  expect(binary).toMatchObject({ header: { from: 'a' }, text: false });
  expect([...(binary as { payload: Uint8Array }).payload]).toEqual([0, 255, 7]);
});

test.each([
  ['empty', new Uint8Array(), /shorter/],
  ['wrong version', new Uint8Array([2, 0, 0, 0]), /version 2/],
  ['header past the end', new Uint8Array([1, 0, 0, 9, 123]), /past the end/],
  ['header not JSON', new Uint8Array([1, 0, 0, 1, 0x7b]), /JSON/],
  ['header an array', new Uint8Array([1, 0, 0, 2, 0x5b, 0x5d]), /object/],
  ['header too long', new Uint8Array([1, 0, 0xff, 0xff]), /exceeds/],
])('rejects %s without throwing', (_name, bytes, reason) => {
  expect(decodeDataEnvelope(bytes)).toMatch(reason);
});

test('upstream headers are validated field by field', () => {
  expect(parseUpstreamHeader({})).toEqual({ to: undefined, topic: undefined });
  expect(parseUpstreamHeader({ to: ['x'], topic: 't' })).toEqual({ to: ['x'], topic: 't' });
  expect(parseUpstreamHeader({ from: 'spoof' })).toMatch(/unknown data header field "from"/);
  expect(parseUpstreamHeader({ to: 'x' })).toMatch(/array/);
  expect(parseUpstreamHeader({ to: [''] })).toMatch(/array/);
  expect(parseUpstreamHeader({ topic: 5 })).toMatch(/topic/);
});
