import { expect, test } from 'vitest';
import { remoteCodecOrder, sortByRemoteOrder } from '../../../sfu/peer/codec-order.js';
import { sfuCodecs } from '../../../sfu/peer/media-capabilities.js';

const offer = [
  'v=0', 'o=- 1 1 IN IP4 0.0.0.0', 's=-', 't=0 0',
  'm=video 9 UDP/TLS/RTP/SAVPF 102 103 96 97', 'a=mid:0',
  'a=rtpmap:96 VP8/90000', 'a=rtpmap:97 rtx/90000', 'a=rtpmap:102 H264/90000', 'a=rtpmap:103 rtx/90000',
  'm=audio 9 UDP/TLS/RTP/SAVPF 111', 'a=mid:1', 'a=rtpmap:111 opus/48000/2', '',
].join('\r\n');

test('reads each section codec names in m= line order, by mid', () => {
  const order = remoteCodecOrder(offer);
  expect(order.get('0')).toEqual(['h264', 'rtx', 'vp8', 'rtx']);
  expect(order.get('1')).toEqual(['opus']);
});

test('sorts the SFU codecs into the publisher order', () => {
  const sorted = sortByRemoteOrder(sfuCodecs().video, ['h264', 'rtx', 'vp8']);
  expect(sorted[0].mimeType).toBe('video/H264');
  expect(sorted.map((c) => c.mimeType).indexOf('video/VP8')).toBeGreaterThan(0);
  expect(sortByRemoteOrder(sfuCodecs().video, ['av1'])[0].mimeType).toBe('video/VP8'); // unknown names keep ours
});
