import { expect, test } from 'vitest';
import { buildExtensionRemap } from '../../../sfu/media/header-extensions.js';

const AUDIO_LEVEL = 'urn:ietf:params:rtp-hdrext:ssrc-audio-level';
const TWCC = 'http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01';
const MID = 'urn:ietf:params:rtp-hdrext:sdes:mid';

test('forwarded extensions are renumbered to the subscriber ids; the rest are stripped', () => {
  // Chromium as publisher numbered audio level 1, transport-cc 3, mid 4; the subscriber connection differs.
  const table = buildExtensionRemap({ 1: AUDIO_LEVEL, 3: TWCC, 4: MID }, { 1: MID, 2: AUDIO_LEVEL, 3: TWCC });
  expect(table[1]).toBe(2); // audio level: 1 → 2
  expect(table[3]).toBe(0); // transport-cc is per hop: the SFU writes its own
  expect(table[4]).toBe(0); // mid is per connection: the SFU writes its own
  expect(table[9]).toBe(0); // not negotiated by the publisher
});

test('an extension the subscriber did not negotiate is stripped', () => {
  const table = buildExtensionRemap({ 1: AUDIO_LEVEL }, { 1: MID });
  expect([...table].every((id) => id === 0)).toBe(true);
});
