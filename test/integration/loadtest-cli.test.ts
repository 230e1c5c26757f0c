import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { RunningServer } from '../../server/app.js';
import type { Summary } from '../../bench/loadtest/summary.js';
import { startTestServer, TEST_KID, TEST_SECRET } from '../helpers/server.js';

let server: RunningServer;
beforeAll(async () => {
  // Heartbeats every 500 ms, so a 5-second run collects the server's `rtt` reports.
  server = await startTestServer({ signaling: { heartbeatIntervalMs: 500, heartbeatTimeoutMs: 5000 } });
});
afterAll(() => server.close());

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  seconds: number;
}

/** Runs `npm run loadtest`'s entry point as operators do, in a process of its own. */
function loadtest(args: string[]): Promise<Run> {
  const startedAt = performance.now();
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/loadtest/main.ts', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  // No hang: a run that has not ended well after its duration is killed, and the test fails on its exit code.
  const killer = setTimeout(() => child.kill('SIGKILL'), 45_000);
  return new Promise((resolve) =>
    child.once('exit', (code) => {
      clearTimeout(killer);
      resolve({ code, stdout, stderr, seconds: (performance.now() - startedAt) / 1000 });
    }),
  );
}

const key = ['--api-key', TEST_KID, '--api-secret', TEST_SECRET];

test('one room, one publisher, two subscribers: every join succeeds, media flows without loss, the JSON summary says so', async () => {
  const run = await loadtest(['--url', server.url, ...key, '--rooms', '1', '--publishers', '1', '--subscribers', '2', '--duration', '5', '--processes', '1', '--json']);
  expect(run.code, run.stderr).toBe(0);
  const summary = JSON.parse(run.stdout) as Summary;
  expect(summary.url).toBe(server.signalingUrl); // derived from the HTTP base
  expect(summary.joins).toEqual({ attempted: 3, ok: 3, failed: 0, failedByCode: {}, droppedAfterJoin: {} });
  expect(summary.subscribersWithoutMedia).toBe(0);
  // 800 kbit/s of video and Opus at ~32 kbit/s (RTP payload), to two subscribers over loopback.
  expect(summary.subscriberKbps.min).toBeGreaterThan(400);
  expect(summary.subscriberKbps.p50).toBeLessThan(1500);
  expect(summary.subscriberLossPercent.max).toBeLessThan(1);
  expect(summary.joinMs.p50).toBeGreaterThan(0);
  expect(summary.firstMediaMs.p95).toBeGreaterThanOrEqual(summary.firstMediaMs.p50!);
  expect(summary.rttMs.samples).toBeGreaterThan(0);
  expect(summary.tool.processes).toHaveLength(1);
  expect(summary.tool.processes[0].bots).toBe(3);
  expect(summary.ok).toBe(true);
  // The human-readable table goes to stderr beside --json.
  expect(run.stderr).toMatch(/joins ok \/ failed\s+3 \/ 0 of 3/);
  expect(run.stderr).toMatch(/rx per subscriber\s+p50 [\d.]+ kbit\/s/);
});

test('simulcast publishers: each subscriber receives one layer (the top one on loopback) and the microphone', async () => {
  const run = await loadtest(['--url', server.signalingUrl, ...key, '--subscribers', '2', '--duration', '4', '--processes', '1', '--simulcast', '--layers', '100,300,600', '--json']);
  expect(run.code, run.stderr).toBe(0);
  const summary = JSON.parse(run.stdout) as Summary;
  expect(summary.joins.ok).toBe(3);
  // 600 kbit/s of the top layer and 32 kbit/s of Opus; all three layers at once would be over 1 Mbit/s.
  expect(summary.subscriberKbps.min).toBeGreaterThan(400);
  expect(summary.subscriberKbps.p50).toBeLessThan(800);
  expect(summary.subscriberLossPercent.max).toBeLessThan(1);
});

test('a wrong signing secret: every join is refused with TOKEN_INVALID, the run ends at once with exit code 1', async () => {
  const run = await loadtest(['--url', server.url, '--api-key', TEST_KID, '--api-secret', 'not-the-secret-not-the-secret-not-the-secret', '--subscribers', '2', '--duration', '30', '--processes', '1']);
  expect(run.code).toBe(1);
  expect(run.stdout).toMatch(/joins ok \/ failed\s+0 \/ 3 of 3 \(TOKEN_INVALID ×3\)/);
  expect(run.stdout).toContain('token signature does not verify');
  expect(run.stdout).toContain('FAILED: no join succeeded');
  expect(run.seconds).toBeLessThan(20); // not the 30 s duration: nobody is left to measure
});

test('a URL where nothing listens: the joins fail with ECONNREFUSED and the exit code is 1', async () => {
  // A port that was free a moment ago.
  const port = await new Promise<number>((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
  const run = await loadtest(['--url', `ws://127.0.0.1:${port}/v1/rtc`, ...key, '--subscribers', '1', '--duration', '30', '--processes', '1', '--json']);
  expect(run.code).toBe(1);
  const summary = JSON.parse(run.stdout) as Summary;
  expect(summary.joins.failedByCode).toEqual({ ECONNREFUSED: 2 });
  expect(summary.ok).toBe(false);
  expect(run.stderr).toContain('nothing listens');
  expect(run.seconds).toBeLessThan(20);
});

test('bad options: exit code 2 and a message naming the problem, before any bot starts', async () => {
  const noKey = await loadtest(['--url', server.url]);
  expect(noKey.code).toBe(2);
  expect(noKey.stderr).toContain('no signing key');
  const devOnKeyedServer = await loadtest(['--url', server.url, '--dev']);
  expect(devOnKeyedServer.code).toBe(2);
  expect(devOnKeyedServer.stderr).toContain('serves no /dev/token');
});
