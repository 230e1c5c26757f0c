import { spawn } from 'node:child_process';
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { RunningServer } from '../../server/app.js';
import type { Summary } from '../../bench/loadtest/summary.js';
import { RedisProcess } from '../helpers/redis-process.js';
import { metricTotal, startTestServer, TEST_KID, TEST_SECRET } from '../helpers/server.js';
import { waitUntil } from '../helpers/bot.js';

/* `npm run loadtest` pointed at one node of a two-node cluster whose rooms all live on the other node. */
let redis: RedisProcess;
let nodeA: RunningServer;
let nodeB: RunningServer;
const fast = { heartbeatMs: 100, nodeTtlMs: 400, leaseTtlMs: 1000, leaseRenewMs: 200 };

beforeAll(async () => {
  redis = await RedisProcess.start();
  const node = (nodeId: string) => startTestServer({ cluster: { redisUrl: redis.url, nodeId, keyPrefix: 'nodes:', ...fast } });
  nodeA = await node('a');
  nodeB = await node('b');
  await waitUntil(async () => (await nodeA.cluster.cluster.nodes()).length === 2, 5000, 'both nodes to be registered');
  nodeA.cluster.cluster.setDraining(true); // a takes no new room: every room is placed on b
});
afterAll(async () => {
  await nodeA?.close();
  await nodeB?.close();
  await redis?.stop();
});

test("through the node that does not serve the rooms: every bot follows the redirect, joins on the rooms' node, and receives media", async () => {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'bench/loadtest/main.ts', '--url', nodeA.url, '--api-key', TEST_KID, '--api-secret', TEST_SECRET, '--rooms', '2', '--publishers', '1', '--subscribers', '1', '--duration', '3', '--processes', '1', '--json'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const killer = setTimeout(() => child.kill('SIGKILL'), 45_000);
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  clearTimeout(killer);
  expect(code, stderr).toBe(0);
  const summary = JSON.parse(stdout) as Summary;
  expect(summary.joins.ok).toBe(4);
  expect(summary.subscriberKbps.min).toBeGreaterThan(0);
  // Node a located each of the four joins elsewhere and sent the bot on; node b served them.
  expect(await metricTotal(nodeA, 'tsfu_cluster_joins_located_total', 'result="elsewhere"')).toBe(4);
  expect(await metricTotal(nodeB, 'tsfu_cluster_joins_located_total', 'result="here"')).toBe(4);
});
