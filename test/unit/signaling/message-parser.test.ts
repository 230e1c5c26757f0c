import { describe, expect, test } from 'vitest';
import { ErrorCode, SignalingError } from '../../../signaling/errors.js';
import { parseClientMessage } from '../../../signaling/message-parser.js';

const codeOf = (text: string) => {
  try {
    parseClientMessage(text);
    return 'accepted';
  } catch (error) {
    expect(error).toBeInstanceOf(SignalingError);
    return (error as SignalingError).code;
  }
};

describe('client message schemas', () => {
  test('accepts each well-formed message', () => {
    const valid = [
      { type: 'join', room: 'r', token: 't', protocolVersion: 1 },
      { type: 'publishOffer', sdp: 'v=0', tracks: [{ mid: '0', source: 'camera', name: 'cam' }] },
      { type: 'subscriberAnswer', sdp: 'v=0' },
      { type: 'trickle', target: 'subscriber', candidate: { candidate: 'candidate:1', sdpMid: '0', sdpMLineIndex: 0, usernameFragment: null } },
      { type: 'trickle', target: 'publisher', candidate: { candidate: '' } },
      { type: 'unpublish', trackId: 'TR_1' },
      { type: 'leave' },
      { type: 'ping' },
      { type: 'ping', id: 7 },
    ];
    for (const message of valid) expect(parseClientMessage(JSON.stringify(message))).toEqual(message);
  });

  test.each([
    ['not JSON', '{', ErrorCode.MALFORMED_JSON],
    ['null', 'null', ErrorCode.NOT_AN_OBJECT],
    ['a string', '"join"', ErrorCode.NOT_AN_OBJECT],
    ['a numeric type', '{"type":1}', ErrorCode.NOT_AN_OBJECT],
    ['an unknown type', '{"type":"nope"}', ErrorCode.UNKNOWN_MESSAGE_TYPE],
    ['a missing field', '{"type":"subscriberAnswer"}', ErrorCode.SCHEMA_VIOLATION],
    ['an unknown field', '{"type":"leave","x":1}', ErrorCode.SCHEMA_VIOLATION],
    ['a bad enum', '{"type":"trickle","target":"both","candidate":{"candidate":""}}', ErrorCode.SCHEMA_VIOLATION],
    ['a bad track source', '{"type":"publishOffer","sdp":"v=0","tracks":[{"mid":"0","source":"webcam"}]}', ErrorCode.SCHEMA_VIOLATION],
    ['an empty room', '{"type":"join","room":"","token":"t"}', ErrorCode.SCHEMA_VIOLATION],
    ['an over-long SDP', JSON.stringify({ type: 'subscriberAnswer', sdp: 'x'.repeat(250_001) }), ErrorCode.SCHEMA_VIOLATION],
    ['too many tracks', JSON.stringify({ type: 'publishOffer', sdp: 'v=0', tracks: Array.from({ length: 17 }, (_, i) => ({ mid: `${i}`, source: 'camera' })) }), ErrorCode.SCHEMA_VIOLATION],
  ])('rejects %s', (_name, text, code) => {
    expect(codeOf(text)).toBe(code);
  });

  test('a schema violation names the offending field', () => {
    try {
      parseClientMessage('{"type":"join","room":"r","token":5}');
      expect.unreachable();
    } catch (error) {
      expect((error as Error).message).toContain('/token');
    }
  });
});

describe('errors name the request once its type is known', () => {
  test('a schema violation carries requestType, earlier failures do not', () => {
    const errorOf = (text: string) => {
      try {
        parseClientMessage(text);
      } catch (error) {
        return error as SignalingError;
      }
      throw new Error('accepted');
    };
    expect(errorOf('{"type":"publishOffer","sdp":5,"tracks":[]}').requestType).toBe('publishOffer');
    expect(errorOf('{"type":"nope"}').requestType).toBeUndefined();
    expect(errorOf('{').requestType).toBeUndefined();
  });

  test('an empty token passes the schema (the token check answers TOKEN_MISSING)', () => {
    expect(parseClientMessage('{"type":"join","room":"r","token":""}')).toEqual({ type: 'join', room: 'r', token: '' });
  });
});
