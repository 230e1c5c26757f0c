import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import WebSocket from 'ws';
import { SignJWT } from 'jose';
import type { Counter } from 'prom-client';
import type { RunningServer } from '../../server/app.js';
import { CloseCode, ErrorCode } from '../../signaling/errors.js';
import { Bot } from '../helpers/bot.js';
import { joinRoom, SignalingClient, testToken } from '../helpers/signaling-client.js';
import { startTestServer, TEST_KID } from '../helpers/server.js';

let server: RunningServer;
beforeAll(async () => {
  server = await startTestServer({ signaling: { maxMessageBytes: 4096, messagesPerSecond: 20, messageBurst: 20, connectionBurstPerIp: 1000 } });
});
afterAll(async () => {
  await server?.close();
});

const connect = () => SignalingClient.connect(server.signalingUrl);

async function protocolErrors(code: string): Promise<number> {
  const metric = await (server.registry.getSingleMetric('tsfu_signaling_protocol_errors_total') as Counter).get();
  return metric.values.find((v) => v.labels.code === code)?.value ?? 0;
}

describe('malformed frames get an error reply and the connection stays usable', () => {
  test.each([
    ['not JSON', '{"type": "join",', ErrorCode.MALFORMED_JSON],
    ['a JSON array', '[1,2,3]', ErrorCode.NOT_AN_OBJECT],
    ['an object without type', '{"room":"x"}', ErrorCode.NOT_AN_OBJECT],
    ['an unknown type', '{"type":"teleport"}', ErrorCode.UNKNOWN_MESSAGE_TYPE],
    ['a join missing its token', '{"type":"join","room":"r"}', ErrorCode.SCHEMA_VIOLATION],
    ['a join with an extra field', '{"type":"join","room":"r","token":"t","admin":true}', ErrorCode.SCHEMA_VIOLATION],
    ['a join with a number for room', '{"type":"join","room":5,"token":"t"}', ErrorCode.SCHEMA_VIOLATION],
    ['a publish before join', '{"type":"publishOffer","sdp":"v=0","tracks":[]}', ErrorCode.NOT_JOINED],
  ])('%s', async (_name, frame, code) => {
    const client = await connect();
    const error = await client.expectError(frame);
    expect(error.code).toBe(code);
    expect(error.message.length).toBeGreaterThan(5);
    // Still open and still serving: a valid join works afterwards.
    client.send({ type: 'join', room: 'bad-input', token: await testToken({ room: 'bad-input', identity: `u-${code}-${Math.random()}` }) });
    await client.waitFor('joined');
    client.close();
  });

  test('a schema violation names the request type', async () => {
    const client = await connect();
    const error = await client.expectError({ type: 'publishOffer', sdp: 5, tracks: [] });
    expect(error.code).toBe(ErrorCode.SCHEMA_VIOLATION);
    expect(error.requestType).toBe('publishOffer');
    client.close();
  });

  test('a binary frame is refused', async () => {
    const client = await connect();
    const error = await client.expectError(Buffer.from([1, 2, 3]));
    expect(error.code).toBe(ErrorCode.BINARY_NOT_SUPPORTED);
    client.close();
  });
});

describe('requests in the wrong state', () => {
  test('a garbage answer gets INVALID_SDP and the offer stays outstanding', async () => {
    const { client } = await joinRoom(server.signalingUrl, 'state', 'garbage-answer');
    await client.waitFor('subscriberOffer');
    const invalid = await client.expectError({ type: 'subscriberAnswer', sdp: 'v=0 garbage' });
    expect(invalid.code).toBe(ErrorCode.INVALID_SDP);
    client.close();
  });

  test('an answer with no outstanding offer gets WRONG_STATE', async () => {
    const bot = await Bot.join(server.signalingUrl, 'state', 'late-answer');
    await bot.dataReady();
    const error = await bot.signaling.expectError({ type: 'subscriberAnswer', sdp: bot.subscriber.localDescription!.sdp });
    expect(error.code).toBe(ErrorCode.WRONG_STATE);
    await bot.close();
  });

  test('a second join gets ALREADY_JOINED', async () => {
    const { client } = await joinRoom(server.signalingUrl, 'state', 'twice');
    const error = await client.expectError({ type: 'join', room: 'state', token: await testToken({ room: 'state', identity: 'twice' }) });
    expect(error.code).toBe(ErrorCode.ALREADY_JOINED);
    client.close();
  });

  test('unpublishing an unknown track gets TRACK_NOT_FOUND', async () => {
    const { client } = await joinRoom(server.signalingUrl, 'state', 'unpub');
    const error = await client.expectError({ type: 'unpublish', trackId: 'TR_nope' });
    expect(error.code).toBe(ErrorCode.TRACK_NOT_FOUND);
    client.close();
  });

  test('trickle for the publisher before any publish is accepted (queued), not refused', async () => {
    const { client } = await joinRoom(server.signalingUrl, 'state', 'trickler');
    client.send({ type: 'trickle', target: 'publisher', candidate: { candidate: 'candidate:1 1 udp 1 127.0.0.1 9 typ host', sdpMid: '0' } });
    // Requests are answered in order: once the unpublish after it is answered, the trickle has been handled.
    const error = await client.expectError({ type: 'unpublish', trackId: 'TR_marker' });
    expect(error.code).toBe(ErrorCode.TRACK_NOT_FOUND);
    expect(client.messages.filter((m) => m.type === 'error').map((m) => m.requestType)).toEqual(['unpublish']);
    client.close();
  });

  test('a publish offer that is not SDP gets INVALID_SDP', async () => {
    const { client } = await joinRoom(server.signalingUrl, 'state', 'badsdp');
    const error = await client.expectError({ type: 'publishOffer', sdp: 'this is not sdp', tracks: [] });
    expect(error.code).toBe(ErrorCode.INVALID_SDP);
    client.close();
  });

  test('publishing without canPublish gets PERMISSION_DENIED', async () => {
    const { client } = await joinRoom(server.signalingUrl, 'state', 'viewer', { canPublish: false });
    const error = await client.expectError({ type: 'publishOffer', sdp: 'v=0', tracks: [] });
    expect(error.code).toBe(ErrorCode.PERMISSION_DENIED);
    client.close();
  });
});

describe('tokens', () => {
  const secret = new TextEncoder().encode('x'.repeat(48));
  const expectRefusal = async (token: string, room: string, code: string, closeCode: number) => {
    const client = await connect();
    const error = await client.expectError({ type: 'join', room, token });
    expect(error.code).toBe(code);
    expect((await client.closed).code).toBe(closeCode);
  };

  test('an expired token is refused with TOKEN_EXPIRED and 4002', async () => {
    const token = await testToken({ room: 'tok', identity: 'old', ttlSeconds: -60 });
    await expectRefusal(token, 'tok', ErrorCode.TOKEN_EXPIRED, CloseCode.TOKEN_EXPIRED);
  });

  test('a token signed with another secret is refused with TOKEN_INVALID and 4001', async () => {
    const forged = await new SignJWT({ room: 'tok', grants: { canPublish: true } })
      .setProtectedHeader({ alg: 'HS256', kid: TEST_KID })
      .setSubject('mallory')
      .setExpirationTime('1h')
      .sign(secret);
    await expectRefusal(forged, 'tok', ErrorCode.TOKEN_INVALID, CloseCode.UNAUTHORIZED);
  });

  test('a token with an unknown kid is refused', async () => {
    const token = await new SignJWT({ room: 'tok' }).setProtectedHeader({ alg: 'HS256', kid: 'nope' }).setSubject('x').setExpirationTime('1h').sign(secret);
    await expectRefusal(token, 'tok', ErrorCode.TOKEN_INVALID, CloseCode.UNAUTHORIZED);
  });

  test('an unsigned (alg none) token is refused', async () => {
    const header = Buffer.from(JSON.stringify({ alg: 'none', kid: TEST_KID })).toString('base64url');
    const body = Buffer.from(JSON.stringify({ sub: 'x', room: 'tok', exp: Math.floor(Date.now() / 1000) + 60 })).toString('base64url');
    await expectRefusal(`${header}.${body}.`, 'tok', ErrorCode.TOKEN_INVALID, CloseCode.UNAUTHORIZED);
  });

  test('a token for another room is refused with WRONG_ROOM and 4003', async () => {
    const token = await testToken({ room: 'other', identity: 'x' });
    await expectRefusal(token, 'tok', ErrorCode.WRONG_ROOM, CloseCode.WRONG_ROOM);
  });

  test('a token that is not valid yet is refused', async () => {
    const token = await testToken({ room: 'tok', identity: 'early', notBeforeSeconds: 600 });
    await expectRefusal(token, 'tok', ErrorCode.TOKEN_NOT_YET_VALID, CloseCode.UNAUTHORIZED);
  });

  test('garbage in the token field is refused', async () => {
    await expectRefusal('not.a.jwt', 'tok', ErrorCode.TOKEN_INVALID, CloseCode.UNAUTHORIZED);
  });

  test('an empty token is refused with TOKEN_MISSING and 4001', async () => {
    await expectRefusal('', 'tok', ErrorCode.TOKEN_MISSING, CloseCode.UNAUTHORIZED);
  });
});

describe('limits', () => {
  test('a frame over the size limit closes the socket with 1009, counted as a protocol error', async () => {
    const before = await protocolErrors('WS_ERR_UNSUPPORTED_MESSAGE_LENGTH');
    const client = await connect();
    client.send(JSON.stringify({ type: 'join', room: 'r', token: 'x'.repeat(5000) }));
    expect((await client.closed).code).toBe(CloseCode.MESSAGE_TOO_BIG);
    expect(await protocolErrors('WS_ERR_UNSUPPORTED_MESSAGE_LENGTH')).toBe(before + 1);
  });

  test('a text frame that is not UTF-8 closes the socket with 1007, counted as a protocol error', async () => {
    const before = await protocolErrors('WS_ERR_INVALID_UTF8');
    const client = await connect();
    client.socket.send(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), { binary: false });
    expect((await client.closed).code).toBe(1007);
    expect(await protocolErrors('WS_ERR_INVALID_UTF8')).toBe(before + 1);
  });

  test('a message flood gets RATE_LIMITED and then the socket is closed with 4029', async () => {
    const client = await connect();
    for (let i = 0; i < 100; i++) client.send('{"type":"leave"');
    const limited = await client.waitFor('error', (m) => m.code === ErrorCode.RATE_LIMITED);
    expect(limited.message).toMatch(/per second/);
    expect((await client.closed).code).toBe(CloseCode.RATE_LIMITED);
  });

  test('the server keeps serving after all of the above', async () => {
    const { client, joined } = await joinRoom(server.signalingUrl, 'after', 'survivor');
    expect(joined.roomId).toBe('after');
    client.close();
  });
});

describe('per-IP connection rate limit', () => {
  test('connections beyond the burst are refused with CONNECTION_RATE_LIMITED', async () => {
    const limited = await startTestServer({ signaling: { connectionsPerIpPerSecond: 1, connectionBurstPerIp: 3 } });
    try {
      const results: { code?: string; close: number }[] = [];
      for (let i = 0; i < 5; i++) {
        const socket = new WebSocket(limited.signalingUrl);
        const result = await new Promise<{ code?: string; close: number }>((resolve) => {
          let code: string | undefined;
          socket.on('message', (d) => (code = JSON.parse(d.toString()).code));
          socket.on('open', () => setTimeout(() => { socket.close(); }, 100));
          socket.on('close', (close) => resolve({ code, close }));
        });
        results.push(result);
      }
      expect(results.slice(0, 3).every((r) => r.code === undefined)).toBe(true);
      expect(results.slice(3).every((r) => r.code === ErrorCode.CONNECTION_RATE_LIMITED && r.close === CloseCode.RATE_LIMITED)).toBe(true);
    } finally {
      await limited.close();
    }
  });
});
