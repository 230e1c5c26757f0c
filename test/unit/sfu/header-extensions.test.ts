import { expect, test } from 'vitest';
import { buildExtensionRemap, remapExtensions, type RtpExtension } from '../../../sfu/header-extensions.js';

const AUDIO_LEVEL = 'urn:ietf:params:rtp-hdrext:ssrc-audio-level';
const TWCC = 'http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01';
const MID = 'urn:ietf:params:rtp-hdrext:sdes:mid';

test('forwarded extensions are renumbered to the subscriber ids; the rest are stripped', () => {
  // Chromium as publisher numbered audio level 1, transport-cc 3, mid 4; the subscriber connection differs.
  const table = buildExtensionRemap({ 1: AUDIO_LEVEL, 3: TWCC, 4: MID }, { 1: MID, 2: AUDIO_LEVEL, 3: TWCC });
  const payload = Buffer.from([0x85]);
  const incoming: RtpExtension[] = [
    { id: 1, payload },
    { id: 3, payload: Buffer.from([0, 1]) },
    { id: 4, payload: Buffer.from('0') },
    { id: 9, payload: Buffer.from([1]) },
  ];
  const out: RtpExtension[] = [];
  expect(remapExtensions(incoming, table, out)).toBe(1);
  expect(out).toEqual([{ id: 2, payload }]);
});

test('an extension the subscriber did not negotiate is stripped', () => {
  const table = buildExtensionRemap({ 1: AUDIO_LEVEL }, { 1: MID });
  const out: RtpExtension[] = [];
  expect(remapExtensions([{ id: 1, payload: Buffer.from([1]) }], table, out)).toBe(0);
  expect(out).toEqual([]);
});
