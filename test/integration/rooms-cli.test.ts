import { spawn } from 'node:child_process';
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { RunningServer } from '../../server/app.js';
import { Bot, waitUntil } from '../helpers/bot.js';
import { startTestServer, TEST_KID, TEST_SECRET } from '../helpers/server.js';

/** `npm run rooms` (server/cli/rooms.ts) as a process, against a real server. */
let server: RunningServer;
let bot: Bot | undefined;

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await bot?.close();
  await server?.close();
});

function rooms(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/cli/rooms.ts', ...args], {
    env: { PATH: process.env.PATH ?? '', TSFU_URL: server.url, TSFU_API_KEY: TEST_KID, TSFU_API_SECRET: TEST_SECRET, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

test('the rooms CLI creates, lists, messages, shows and deletes rooms, and says what went wrong', async () => {
  const created = await rooms(['create', 'cli room', '--max', '5', '--metadata', 'from the shell']);
  expect(created.code, created.stderr).toBe(0);
  expect(JSON.parse(created.stdout)).toMatchObject({ name: 'cli room', maxParticipants: 5, metadata: 'from the shell' });
  const listed = await rooms(['list']);
  expect(JSON.parse(listed.stdout).map((r: { name: string }) => r.name)).toEqual(['cli room']);

  bot = await Bot.join(server.signalingUrl, 'cli room', 'student');
  await bot.dataReady();
  const sent = await rooms(['send', 'cli room', 'hello from the CLI', '--to', 'student']);
  expect(JSON.parse(sent.stdout)).toEqual({ delivered: 1 });
  await waitUntil(() => bot!.data.some((d) => d.text === 'hello from the CLI'), 5000, 'the message');
  const participants = await rooms(['participants', 'cli room']);
  expect(JSON.parse(participants.stdout).map((p: { identity: string }) => p.identity)).toEqual(['student']);

  // Flags win over the environment.
  const forged = await rooms(['list', '--api-secret', 'wrong-secret-wrong-secret-wrong-secret']);
  expect(forged.code).toBe(1);
  expect(forged.stderr).toMatch(/401 UNAUTHORIZED: token signature does not verify/);
  const usage = await rooms(['create']);
  expect(usage.code).toBe(2);
  expect(usage.stderr).toMatch(/"create" takes 1 argument/);
  const noKey = await rooms(['list'], { TSFU_API_KEY: '' });
  expect(noKey.code).toBe(2);

  const deleted = await rooms(['delete', 'cli room']);
  expect(deleted.code, deleted.stderr).toBe(0);
  expect((await bot.signaling.closed).code).toBe(4015);
  const missing = await rooms(['delete', 'cli room']);
  expect(missing.code).toBe(1);
  expect(missing.stderr).toMatch(/404 ROOM_NOT_FOUND/);
});
