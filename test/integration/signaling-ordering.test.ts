import { afterAll, beforeAll, expect, test } from 'vitest';
import type { RunningServer } from '../../server/app.js';
import { ErrorCode } from '../../signaling/errors.js';
import { SignalingClient, testToken } from '../helpers/signaling-client.js';
import { startTestServer } from '../helpers/server.js';
import { waitUntil } from '../helpers/bot.js';

let server: RunningServer;
beforeAll(async () => {
  server = await startTestServer({ signaling: { maxQueuedMessages: 4, connectionBurstPerIp: 1000 } });
});
afterAll(async () => {
  await server?.close();
});

test('requests sent back to back are handled one at a time, in order, even while join checks the token', async () => {
  const client = await SignalingClient.connect(server.signalingUrl);
  const token = await testToken({ room: 'order', identity: 'eager' });
  // Sent in one burst: none of these may start before the one before it has finished.
  client.send({ type: 'join', room: 'order', token });
  client.send({ type: 'publishOffer', sdp: 'this is not sdp', tracks: [] });
  client.send({ type: 'unpublish', trackId: 'TR_none' });
  client.send({ type: 'leave' });
  const closed = await client.closed;
  expect(closed.code).toBe(1000);
  const replies = client.messages.filter((m) => m.type === 'joined' || m.type === 'error').map((m) => (m.type === 'error' ? `${m.code}:${m.requestType}` : m.type));
  expect(replies).toEqual(['joined', `${ErrorCode.INVALID_SDP}:publishOffer`, `${ErrorCode.TRACK_NOT_FOUND}:unpublish`]);
  await waitUntil(() => server.sfu.rooms.size === 0, 5000, 'room closed');
});

test('requests beyond the queue bound are refused with RATE_LIMITED naming the request, and the session carries on', async () => {
  const client = await SignalingClient.connect(server.signalingUrl);
  const token = await testToken({ room: 'queue', identity: 'burst' });
  client.send({ type: 'join', room: 'queue', token });
  // join is being handled (token check); 4 more fit in the queue, the rest are refused.
  for (let i = 0; i < 10; i++) client.send({ type: 'unpublish', trackId: `TR_${i}` });
  await waitUntil(() => client.messages.filter((m) => m.type === 'error').length >= 10, 5000, 'ten replies');
  const errors = client.messages.filter((m) => m.type === 'error');
  expect(errors.filter((m) => m.code === ErrorCode.RATE_LIMITED && m.requestType === 'unpublish').length).toBe(6);
  expect(errors.filter((m) => m.code === ErrorCode.TRACK_NOT_FOUND).length).toBe(4);
  expect(client.messages.some((m) => m.type === 'joined')).toBe(true);
  const error = await client.expectError({ type: 'unpublish', trackId: 'TR_later' });
  expect(error.code).toBe(ErrorCode.TRACK_NOT_FOUND);
  client.close();
  await waitUntil(() => server.sfu.rooms.size === 0 && server.signaling.sessionCount === 0, 5000, 'session gone');
});

test('ping is answered with pong carrying its id, before and after joining', async () => {
  const client = await SignalingClient.connect(server.signalingUrl);
  client.send({ type: 'ping', id: 41 });
  expect((await client.waitFor('pong', (m) => m.id === 41)).type).toBe('pong');
  client.send({ type: 'join', room: 'pinger', token: await testToken({ room: 'pinger', identity: 'p' }) });
  client.send({ type: 'ping', id: 42 });
  await client.waitFor('pong', (m) => m.id === 42);
  // In order: the pong after the join comes after joined.
  expect(client.messages.findIndex((m) => m.type === 'joined')).toBeLessThan(client.messages.findIndex((m) => m.type === 'pong' && m.id === 42));
  client.close();
  await waitUntil(() => server.sfu.rooms.size === 0, 5000, 'room closed');
});
