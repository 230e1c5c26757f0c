import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { afterEach, expect, test } from 'vitest';
import { mintAdminToken } from '../../server/admin-token.js';
import { CloseCode } from '../../signaling/errors.js';
import { SignalingClient, testToken } from '../helpers/signaling-client.js';
import { TEST_KID, TEST_SECRET } from '../helpers/server.js';

const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});

interface Started {
  child: ChildProcess;
  url: string;
  logs: Record<string, unknown>[];
  exited: Promise<number | null>;
}

/** Runs the real entry point (server/main.ts) as its own process and waits for "server listening". */
function startProcess(env: Record<string, string>): Promise<Started> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/main.ts'], {
    // The embedded TURN server's fixed default ports could be taken on a developer's machine; it is tested in-process.
    env: { PATH: process.env.PATH, TSFU_HTTP_PORT: '0', TSFU_TURN_ENABLED: 'false', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  const logs: Record<string, unknown>[] = [];
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      try {
        const entry = JSON.parse(line) as Record<string, unknown>;
        logs.push(entry);
        if (entry.msg === 'server listening') resolve({ child, url: String(entry.url), logs, exited });
      } catch {
        // not a log line
      }
    });
    void exited.then((code) => reject(new Error(`server exited with ${code} before listening: ${stderr}`)));
  });
}

test('with no configuration it starts a development node on 127.0.0.1 with a token endpoint', async () => {
  const { url, logs } = await startProcess({});
  expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  expect(logs.some((l) => String(l.msg).includes('DEVELOPMENT MODE'))).toBe(true);
  const { token } = (await (await fetch(`${url}/dev/token?room=r&identity=dev-user`)).json()) as { token: string };
  const client = await SignalingClient.connect(url.replace('http', 'ws') + '/v1/rtc');
  client.send({ type: 'join', room: 'r', token });
  expect((await client.waitFor('joined')).participant.identity).toBe('dev-user');
  expect((await fetch(`${url}/healthz`)).status).toBe(200);
  expect((await fetch(`${url}/readyz`)).status).toBe(200);
  const metrics = await (await fetch(`${url}/metrics`)).text();
  for (const name of ['tsfu_sfu_rooms 1', 'tsfu_sfu_participants 1', 'tsfu_signaling_websocket_connections 1', 'tsfu_sfu_forwarded_packets_total', 'tsfu_signaling_join_seconds_bucket', 'tsfu_signaling_rtt_seconds_bucket']) {
    expect(metrics).toContain(name);
  }
  expect((await fetch(`${url}/dev/token?identity=x`)).status).toBe(400);
  client.close();
});

test('with keys configured there is no token endpoint and tokens signed with them are accepted', async () => {
  const { url } = await startProcess({ TSFU_AUTH_KEYS: `${TEST_KID}:${TEST_SECRET}` });
  expect((await fetch(`${url}/dev/token?room=r&identity=x`)).status).toBe(404);
  const client = await SignalingClient.connect(url.replace('http', 'ws') + '/v1/rtc');
  client.send({ type: 'join', room: 'k', token: await testToken({ room: 'k', identity: 'keyed' }) });
  await client.waitFor('joined');
  client.close();
});

test('an unknown configuration key stops start-up with a message naming it', async () => {
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/main.ts'], { env: { PATH: process.env.PATH, TSFU_HTTP_PROTO: 'x' }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const code = await new Promise((resolve) => child.once('exit', resolve));
  expect(code).toBe(2);
  expect(stderr).toContain('TSFU_HTTP_PROTO');
});

test('SIGTERM tells connected clients, closes them with 4050 and exits cleanly', async () => {
  const { child, url, exited, logs } = await startProcess({ TSFU_AUTH_KEYS: `${TEST_KID}:${TEST_SECRET}` });
  const client = await SignalingClient.connect(url.replace('http', 'ws') + '/v1/rtc');
  client.send({ type: 'join', room: 'term', token: await testToken({ room: 'term', identity: 'stay' }) });
  await client.waitFor('joined');
  child.kill('SIGTERM');
  const leave = await client.waitFor('leave');
  expect(leave.reason).toBe('server-shutdown');
  expect((await client.closed).code).toBe(CloseCode.SERVER_SHUTDOWN);
  expect(await exited).toBe(0);
  expect(logs.some((l) => l.msg === 'shut down cleanly')).toBe(true);
});

test('POST /admin/drain with an admin token drains the process as SIGTERM does: its clients are told, and it exits cleanly', async () => {
  const { url, exited, logs } = await startProcess({ TSFU_AUTH_KEYS: `${TEST_KID}:${TEST_SECRET}`, TSFU_SHUTDOWN_DRAIN_MS: '300' });
  const client = await SignalingClient.connect(url.replace('http', 'ws') + '/v1/rtc');
  client.send({ type: 'join', room: 'drained', token: await testToken({ room: 'drained', identity: 'stay' }) });
  await client.waitFor('joined');
  const token = await mintAdminToken({ kid: TEST_KID, secret: TEST_SECRET, operator: 'ops', grants: { drain: true } });
  const response = await fetch(`${url}/admin/drain`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
  expect(response.status).toBe(202);
  expect(await response.json()).toMatchObject({ draining: true, reason: 'admin', rooms: 1 });
  const leave = await client.waitFor('leave');
  expect(leave.reason).toBe('server-shutdown');
  expect(await exited).toBe(0);
  expect(logs.some((l) => l.msg === 'shutting down' && l.reason === 'admin')).toBe(true);
  expect(logs.some((l) => l.msg === 'shut down cleanly')).toBe(true);
});
