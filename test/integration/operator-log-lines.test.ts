import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { RunningServer } from '../../server/app.js';
import { Bot, waitUntil } from '../helpers/bot.js';
import { startTestServer } from '../helpers/server.js';
import { SignalingClient, testToken } from '../helpers/signaling-client.js';

type Line = Record<string, unknown> & { msg: string };
const lines: Line[] = [];
let server: RunningServer;

beforeAll(async () => {
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const text of chunk.toString().split('\n')) if (text.trim() !== '') lines.push(JSON.parse(text) as Line);
      done();
    },
  });
  server = await startTestServer({}, pino({ level: 'info' }, sink));
});
afterAll(async () => {
  await server?.close();
});

const find = (msg: string, participantId: string) => lines.filter((l) => l.msg === msg && l.participantId === participantId);
const isMs = (value: unknown) => typeof value === 'number' && value >= 0 && value < 60_000;

test('join, publish and leave each leave one line with their durations; a refused join says why', async () => {
  const teacher = await Bot.join(server.signalingUrl, 'log-room', 'Ms Smith');
  await teacher.publish();
  await waitUntil(() => find('publish negotiated', 'Ms Smith').length === 1, 5000, 'the publish line');
  teacher.signaling.send({ type: 'leave' });
  await waitUntil(() => find('participant left', 'Ms Smith').length === 1, 5000, 'the leave line');
  await teacher.close();

  const joined = find('joined', 'Ms Smith');
  expect(joined).toHaveLength(1);
  expect(joined[0]).toMatchObject({ roomId: 'log-room', ip: '127.0.0.1' });
  for (const phase of ['tokenMs', 'locateMs', 'roomJoinMs', 'totalMs']) expect(isMs(joined[0][phase]), phase).toBe(true);
  const { tokenMs, locateMs, roomJoinMs, totalMs } = joined[0] as Record<string, number>;
  expect(totalMs).toBeGreaterThanOrEqual(tokenMs + locateMs + roomJoinMs - 0.2); // each rounded to 0.1 ms

  const [published] = find('publish negotiated', 'Ms Smith');
  expect(published).toMatchObject({ roomId: 'log-room', tracks: expect.arrayContaining(['audio:microphone', 'video:camera']) });
  expect(isMs(published.negotiationMs)).toBe(true);

  const [left] = find('participant left', 'Ms Smith');
  expect(left).toMatchObject({ roomId: 'log-room', reason: 'left' });
  expect(left.sessionMs as number).toBeGreaterThanOrEqual(0);

  // A token for another room: one 'join refused' line with the code and how far the join got.
  const client = await SignalingClient.connect(server.signalingUrl);
  client.send({ type: 'join', room: 'log-room', token: await testToken({ room: 'elsewhere', identity: 'student' }) });
  await client.closed;
  const refused = lines.filter((l) => l.msg === 'join refused');
  expect(refused).toHaveLength(1);
  expect(refused[0]).toMatchObject({ reason: 'WRONG_ROOM', roomId: 'log-room', ip: '127.0.0.1' });
  expect(isMs(refused[0].tokenMs)).toBe(true);
  expect(refused[0].locateMs).toBeUndefined();
});
