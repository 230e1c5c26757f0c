import { describe, expect, test } from 'vitest';
import { InvalidSdpError } from '../../../sfu/errors.js';
import { sfuCodecs } from '../../../sfu/peer/media-capabilities.js';
import {
  answerIce,
  midOf,
  readAnsweredSection,
  sendingSection,
  sessionIce,
  sessionPart,
  splitDescription,
  stoppedSection,
  SUBSCRIBER_EXTENSIONS,
  transportLines,
  weriftAnswer,
} from '../../../sfu/peer/subscriber-sdp.js';

const crlf = (lines: string[]) => lines.map((line) => `${line}\r\n`).join('');

const SESSION = crlf(['v=0', 'o=- 4611731400430051336 7 IN IP4 127.0.0.1', 's=-', 't=0 0', 'a=group:BUNDLE 0 1 2', 'a=extmap-allow-mixed', 'a=msid-semantic:WMS *']);

const APPLICATION = crlf([
  'm=application 9 UDP/DTLS/SCTP webrtc-datachannel',
  'c=IN IP4 0.0.0.0',
  'a=candidate:1 1 udp 2116026367 127.0.0.1 44001 typ host generation 0 ufrag abcd',
  'a=end-of-candidates',
  'a=ice-ufrag:abcd',
  'a=ice-pwd:0123456789abcdef012345',
  'a=ice-options:trickle',
  'a=fingerprint:sha-256 AA:BB:CC',
  'a=setup:actpass',
  'a=mid:0',
  'a=sctp-port:5000',
  'a=max-message-size:65536',
]);

const VIDEO_ANSWER = crlf([
  'm=video 9 UDP/TLS/RTP/SAVPF 96 97',
  'c=IN IP4 0.0.0.0',
  'a=ice-ufrag:wxyz',
  'a=ice-pwd:PWDPWDPWDPWDPWDPWDPWD1',
  'a=fingerprint:sha-256 DD:EE:FF',
  'a=setup:active',
  'a=recvonly',
  'a=mid:1',
  'a=rtcp-mux',
  'a=rtpmap:96 VP8/90000',
  'a=rtpmap:97 rtx/90000',
  'a=fmtp:97 apt=96',
  'a=extmap:1 urn:ietf:params:rtp-hdrext:sdes:mid',
  'a=extmap:3/recvonly http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time',
]);

const AUDIO_REJECTED = crlf(['m=audio 0 UDP/TLS/RTP/SAVPF 111', 'c=IN IP4 0.0.0.0', 'a=inactive', 'a=mid:2', 'a=rtpmap:111 opus/48000/2']);

const DESCRIPTION = SESSION + APPLICATION + VIDEO_ANSWER + AUDIO_REJECTED;

describe('splitDescription', () => {
  test('splits a CRLF description into its session part and its sections, which join back into it', () => {
    const { session, sections } = splitDescription(DESCRIPTION);
    expect(session).toBe(SESSION);
    expect(sections).toEqual([APPLICATION, VIDEO_ANSWER, AUDIO_REJECTED]);
    expect(session + sections.join('')).toBe(DESCRIPTION);
  });

  test('normalises an LF-only description to CRLF', () => {
    const lf = DESCRIPTION.replace(/\r\n/g, '\n');
    expect(lf).not.toContain('\r');
    const { session, sections } = splitDescription(lf);
    expect(session).toBe(SESSION);
    expect(sections).toEqual([APPLICATION, VIDEO_ANSWER, AUDIO_REJECTED]);
    expect(session + sections.join('')).toBe(DESCRIPTION);
  });

  test('adds the final CRLF a description may lack', () => {
    const { session, sections } = splitDescription(DESCRIPTION.slice(0, -2));
    expect(session + sections.join('')).toBe(DESCRIPTION);
    expect(sections[2]).toBe(AUDIO_REJECTED);
  });

  test('every section starts with "m=" and ends with CRLF', () => {
    const { sections } = splitDescription(DESCRIPTION);
    expect(sections).toHaveLength(3);
    for (const section of sections) {
      expect(section.startsWith('m=')).toBe(true);
      expect(section.endsWith('\r\n')).toBe(true);
      expect(section.endsWith('\r\n\r\n')).toBe(false);
    }
  });
});

describe('midOf', () => {
  test("reads a section's mid", () => {
    expect(midOf(APPLICATION)).toBe('0');
    expect(midOf(VIDEO_ANSWER)).toBe('1');
    expect(midOf(AUDIO_REJECTED)).toBe('2');
  });

  test('reads a mid on the last line, with or without its CRLF', () => {
    expect(midOf('m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:audio-7\r\n')).toBe('audio-7');
    expect(midOf('m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:audio-7')).toBe('audio-7');
  });

  test('is undefined for a section without a=mid', () => {
    expect(midOf('m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=sendrecv\r\n')).toBeUndefined();
  });
});

describe('readAnsweredSection', () => {
  test('reads port, mid, payload types, extension ids and ICE of an accepted section', () => {
    const section = readAnsweredSection(VIDEO_ANSWER);
    expect(section.kind).toBe('video');
    expect(section.port).toBe(9);
    expect(section.mid).toBe('1');
    expect(section.payloadTypes).toEqual([96, 97]);
    // An extmap with a direction ("3/recvonly") keeps its id.
    expect(section.extensions).toEqual({ 1: 'urn:ietf:params:rtp-hdrext:sdes:mid', 3: 'http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time' });
    expect(section.ice).toBe('wxyz PWDPWDPWDPWDPWDPWDPWD1');
    expect(section.text).toBe(VIDEO_ANSWER);
  });

  test('reads a rejected section: port 0, no extensions, no ICE', () => {
    const section = readAnsweredSection(AUDIO_REJECTED);
    expect(section.kind).toBe('audio');
    expect(section.port).toBe(0);
    expect(section.mid).toBe('2');
    expect(section.payloadTypes).toEqual([111]);
    expect(section.extensions).toEqual({});
    expect(section.ice).toBeUndefined();
  });

  test('reads the data-channel section', () => {
    const section = readAnsweredSection(APPLICATION);
    expect(section.kind).toBe('application');
    expect(section.port).toBe(9);
    expect(section.mid).toBe('0');
    expect(section.ice).toBe('abcd 0123456789abcdef012345');
  });
});

describe('ICE credentials of an answer', () => {
  const bundledSession = crlf(['v=0', 'o=- 1 1 IN IP4 0.0.0.0', 's=-', 't=0 0', 'a=ice-ufrag:sess', 'a=ice-pwd:sessionpassword123456', 'a=group:BUNDLE 0']);

  test("the section's own credentials come first, the session's otherwise", () => {
    expect(sessionIce(bundledSession)).toBe('sess sessionpassword123456');
    expect(answerIce(bundledSession, readAnsweredSection(VIDEO_ANSWER))).toBe('wxyz PWDPWDPWDPWDPWDPWDPWD1');
    expect(answerIce(bundledSession, readAnsweredSection(AUDIO_REJECTED))).toBe('sess sessionpassword123456');
  });

  test('no credentials at all is an InvalidSdpError', () => {
    expect(sessionIce(SESSION)).toBeUndefined();
    expect(() => answerIce(SESSION, readAnsweredSection(AUDIO_REJECTED))).toThrow(InvalidSdpError);
  });
});

describe('sessionPart', () => {
  test('replaces the o= version and the BUNDLE group and keeps every other line', () => {
    const text = sessionPart(SESSION, 42, ['0', '3', '5']);
    expect(text.split('\r\n')).toEqual([
      'v=0',
      'o=- 4611731400430051336 42 IN IP4 127.0.0.1',
      's=-',
      't=0 0',
      'a=group:BUNDLE 0 3 5',
      'a=extmap-allow-mixed',
      'a=msid-semantic:WMS *',
      '',
    ]);
    expect(text.endsWith('\r\n')).toBe(true);
    expect(text).not.toContain('\r\n\r\n');
  });

  test('a BUNDLE group of the data-channel mid alone', () => {
    const text = sessionPart(SESSION, 1, ['0']);
    expect(text).toContain('\r\na=group:BUNDLE 0\r\n');
    expect(text).toContain('\r\no=- 4611731400430051336 1 IN IP4 127.0.0.1\r\n');
  });

  test('with the session part splitDescription gives, the description stays well formed', () => {
    const { session } = splitDescription(DESCRIPTION);
    const sdp = sessionPart(session, 8, ['0', '1']) + APPLICATION;
    const again = splitDescription(sdp);
    expect(again.sections).toEqual([APPLICATION]);
    expect(again.session).toContain('a=group:BUNDLE 0 1\r\n');
    expect(again.session).toContain('o=- 4611731400430051336 8 IN IP4');
  });
});

describe('weriftAnswer', () => {
  test('narrows the BUNDLE group to the data-channel mid and carries only its section', () => {
    const { session, sections } = splitDescription(DESCRIPTION);
    const answer = weriftAnswer(session, sections[0], '0');
    expect(answer).toBe(SESSION.replace('a=group:BUNDLE 0 1 2', 'a=group:BUNDLE 0') + APPLICATION);
    const split = splitDescription(answer);
    expect(split.sections).toEqual([APPLICATION]);
    expect(split.session).toContain('\r\na=group:BUNDLE 0\r\n');
    expect(split.session).toContain('\r\na=msid-semantic:WMS *\r\n');
  });
});

describe('transportLines', () => {
  test('keeps c=, ICE and DTLS lines, drops candidates and the rest', () => {
    expect(transportLines(APPLICATION)).toBe(
      crlf([
        'c=IN IP4 0.0.0.0',
        'a=ice-ufrag:abcd',
        'a=ice-pwd:0123456789abcdef012345',
        'a=ice-options:trickle',
        'a=fingerprint:sha-256 AA:BB:CC',
        'a=setup:actpass',
      ]),
    );
    expect(transportLines('m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=mid:0\r\n')).toBe('');
  });
});

describe('sendingSection', () => {
  const codecs = sfuCodecs();
  const vp8 = codecs.video.filter((c) => c.payloadType === 96 || c.payloadType === 97);
  const opus = codecs.audio;
  const transport = transportLines(APPLICATION);

  const video = sendingSection(
    { kind: 'video', mid: '4', ssrc: 1111, rtxSsrc: 2222, streamId: 'PA_x', trackId: 'TR_v', cname: 'cname-1', codecs: vp8 },
    transport,
  );
  const audio = sendingSection({ kind: 'audio', mid: '5', ssrc: 3333, streamId: 'PA_x', trackId: 'TR_a', cname: 'cname-1', codecs: opus }, transport);
  const lines = (text: string) => text.split('\r\n').filter((line) => line.length > 0);

  test('a video section: sendonly, mid, msid, the RTX SSRC group, codecs with feedback, extensions', () => {
    expect(video.startsWith('m=video 9 UDP/TLS/RTP/SAVPF 96 97\r\n')).toBe(true);
    expect(video.endsWith('\r\n')).toBe(true);
    const l = lines(video);
    expect(l).toEqual(expect.arrayContaining([
      'c=IN IP4 0.0.0.0',
      'a=ice-ufrag:abcd',
      'a=fingerprint:sha-256 AA:BB:CC',
      'a=setup:actpass',
      'a=sendonly',
      'a=mid:4',
      'a=msid:PA_x TR_v',
      'a=rtcp-mux',
      'a=ssrc-group:FID 1111 2222',
      'a=ssrc:1111 cname:cname-1',
      'a=ssrc:2222 cname:cname-1',
      'a=rtpmap:96 VP8/90000',
      'a=rtcp-fb:96 nack',
      'a=rtcp-fb:96 nack pli',
      'a=rtcp-fb:96 ccm fir',
      'a=rtcp-fb:96 transport-cc',
      'a=rtpmap:97 rtx/90000',
      'a=fmtp:97 apt=96',
      'a=extmap:1 urn:ietf:params:rtp-hdrext:sdes:mid',
      'a=extmap:4 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01',
    ]));
    // The SFU estimates the downlink from transport-wide feedback: no REMB; no candidates (the data-channel m-line has them).
    expect(video).not.toContain('goog-remb');
    expect(video).not.toContain('a=candidate');
    expect(l.filter((line) => line.startsWith('a=extmap:'))).toHaveLength(2);
    expect(midOf(video)).toBe('4');
  });

  test('an audio section: opus in stereo with its fmtp, one SSRC and no SSRC group', () => {
    expect(audio.startsWith('m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n')).toBe(true);
    const l = lines(audio);
    expect(l).toEqual(expect.arrayContaining([
      'a=sendonly',
      'a=mid:5',
      'a=msid:PA_x TR_a',
      'a=ssrc:3333 cname:cname-1',
      'a=rtpmap:111 opus/48000/2',
      'a=fmtp:111 minptime=10;useinbandfec=1',
      'a=extmap:1 urn:ietf:params:rtp-hdrext:sdes:mid',
      'a=extmap:2 urn:ietf:params:rtp-hdrext:ssrc-audio-level',
      'a=extmap:4 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01',
      'a=rtcp-fb:111 transport-cc',
    ]));
    expect(audio).not.toContain('a=ssrc-group');
    expect(l.filter((line) => line.startsWith('a=ssrc:'))).toHaveLength(1);
    expect(l.filter((line) => line.startsWith('a=rtcp-fb:'))).toHaveLength(1);
  });

  test('one extension id per URI, and one URI per id, across audio and video (BUNDLE)', () => {
    const idByUri = new Map<string, number>();
    const uriById = new Map<number, string>();
    for (const section of [video, audio]) {
      for (const line of lines(section).filter((l) => l.startsWith('a=extmap:'))) {
        const [id, uri] = line.slice('a=extmap:'.length).split(' ');
        const n = Number(id);
        expect(idByUri.get(uri) ?? n).toBe(n);
        expect(uriById.get(n) ?? uri).toBe(uri);
        idByUri.set(uri, n);
        uriById.set(n, uri);
      }
    }
    expect(Object.fromEntries(idByUri)).toEqual({
      'urn:ietf:params:rtp-hdrext:sdes:mid': 1,
      'urn:ietf:params:rtp-hdrext:ssrc-audio-level': 2,
      'http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01': 4,
    });
    const all = [...SUBSCRIBER_EXTENSIONS.audio, ...SUBSCRIBER_EXTENSIONS.video];
    for (const { id, uri } of all) expect(all.filter((e) => e.uri === uri).every((e) => e.id === id)).toBe(true);
  });

  test('read back as an answer, a sending section gives its own values', () => {
    const read = readAnsweredSection(video);
    expect(read).toMatchObject({ kind: 'video', port: 9, mid: '4', payloadTypes: [96, 97], ice: 'abcd 0123456789abcdef012345' });
    expect(read.extensions).toEqual({ 1: 'urn:ietf:params:rtp-hdrext:sdes:mid', 4: 'http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01' });
  });
});

describe('stoppedSection', () => {
  test('port 0, inactive, the same mid, the codec, and nothing of the transport', () => {
    const [vp8] = sfuCodecs().video;
    const text = stoppedSection('video', '7', vp8);
    expect(text.startsWith('m=video 0 UDP/TLS/RTP/SAVPF 96\r\n')).toBe(true);
    expect(text.split('\r\n')).toEqual(expect.arrayContaining(['c=IN IP4 0.0.0.0', 'a=inactive', 'a=mid:7', 'a=rtpmap:96 VP8/90000']));
    expect(text).not.toContain('a=ice-ufrag');
    expect(text).not.toContain('a=ssrc');
    expect(text).not.toContain('a=msid');
    expect(text).not.toContain('a=sendonly');
    expect(midOf(text)).toBe('7');
    const read = readAnsweredSection(text);
    expect(read.port).toBe(0);
    expect(read.payloadTypes).toEqual([96]);
  });

  test('audio: port 0 with opus', () => {
    const text = stoppedSection('audio', '2', sfuCodecs().audio[0]);
    expect(text.startsWith('m=audio 0 UDP/TLS/RTP/SAVPF 111\r\n')).toBe(true);
    expect(text).toContain('\r\na=inactive\r\n');
    expect(text).toContain('\r\na=rtpmap:111 opus/48000/2\r\n');
    expect(text.endsWith('\r\n')).toBe(true);
  });
});
