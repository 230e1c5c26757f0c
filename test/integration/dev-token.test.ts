// GET /dev/token (development mode): the demo's tokens for an open room, a teacher (admin=1) and a student (publish=0).
import { pino } from 'pino';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startServer, type RunningServer } from '../../server/app.js';
import { defaultConfig } from '../../server/config.js';

let server: RunningServer;

beforeAll(async () => {
  server = await startServer({ ...defaultConfig(), http: { host: '127.0.0.1', port: 0 }, log: { level: 'silent' } }, { logger: pino({ level: 'silent' }) });
});
afterAll(async () => {
  await server?.close();
});

/** The grants of the token minted for `query` (the payload read without verification: the server's own key signed it). */
async function grantsFor(query: string): Promise<Record<string, unknown>> {
  const response = await fetch(`${server.url}/dev/token?${query}`);
  expect(response.status).toBe(200);
  const { token } = (await response.json()) as { token: string };
  const payload = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8')) as { grants: Record<string, unknown> };
  return payload.grants;
}

test('a plain dev token may publish and raise a hand but not moderate', async () => {
  expect(await grantsFor('room=r&identity=ann')).toMatchObject({ canPublish: true, canSubscribe: true, canPublishData: true, canUpdateOwnMetadata: true, roomAdmin: false });
});

test('admin=1 mints the teacher (roomAdmin); publish=0 a student who may not publish until allowed', async () => {
  expect(await grantsFor('room=r&identity=teacher&admin=1')).toMatchObject({ roomAdmin: true, canPublish: true });
  expect(await grantsFor('room=r&identity=student&publish=0')).toMatchObject({ roomAdmin: false, canPublish: false, canSubscribe: true, canUpdateOwnMetadata: true });
});

test('malformed role parameters are refused with 400', async () => {
  for (const query of ['room=r&identity=x&publish=no', 'room=r&identity=x&admin=true']) {
    expect((await fetch(`${server.url}/dev/token?${query}`)).status, query).toBe(400);
  }
});
