import { describe, expect, it } from 'vitest';
import { TRANSPORT_CC_EXTENSION_URI } from '../../../sfu/media/transport-cc/feedback-types.js';
import { findExtensionIds } from '../../../sfu/media/transport-cc/sdp-extension-id.js';

const ids = (sdp: string) => {
  const table = findExtensionIds(sdp, TRANSPORT_CC_EXTENSION_URI);
  return table ? [...table.keys()].filter((id) => table[id] === 1) : undefined;
};

describe('transport-cc extension ids from SDP', () => {
  it("reads Chromium's one id for the whole bundle", () => {
    const sdp = ['m=audio 9 UDP/TLS/RTP/SAVPF 111', `a=extmap:3 ${TRANSPORT_CC_EXTENSION_URI}`, 'm=video 9 UDP/TLS/RTP/SAVPF 96', `a=extmap:3 ${TRANSPORT_CC_EXTENSION_URI}`].join('\r\n');
    expect(ids(sdp)).toEqual([3]);
  });

  it("takes werift's per-m-section ids, and a direction suffix", () => {
    const sdp = [
      'm=video 9 UDP/TLS/RTP/SAVPF 96',
      'a=extmap:3 urn:ietf:params:rtp-hdrext:sdes:mid',
      `a=extmap:4/sendrecv ${TRANSPORT_CC_EXTENSION_URI}`,
      'm=audio 9 UDP/TLS/RTP/SAVPF 111',
      'a=extmap:1 urn:ietf:params:rtp-hdrext:sdes:mid',
      `a=extmap:2 ${TRANSPORT_CC_EXTENSION_URI}`,
    ].join('\n');
    expect(ids(sdp)).toEqual([2, 4]);
  });

  it('leaves out an id another m-section uses for something else, and is undefined when not negotiated', () => {
    const sdp = ['m=video 9 X 96', `a=extmap:2 ${TRANSPORT_CC_EXTENSION_URI}`, 'm=audio 9 X 111', 'a=extmap:2 urn:ietf:params:rtp-hdrext:ssrc-audio-level'].join('\r\n');
    expect(ids(sdp)).toBeUndefined();
    expect(ids('m=video 9 X 96\r\na=extmap:1 urn:ietf:params:rtp-hdrext:sdes:mid')).toBeUndefined();
  });
});
