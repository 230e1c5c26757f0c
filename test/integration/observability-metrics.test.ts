import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { RunningServer } from '../../server/app.js';
import { Bot, waitUntil } from '../helpers/bot.js';
import { dashboardExpressions, promqlMetricNames, ruleExpressions } from '../helpers/dashboard-queries.js';
import { metricTotal, startTestServer } from '../helpers/server.js';
import { joinRoom, SignalingClient, testToken } from '../helpers/signaling-client.js';

const DEPLOY = fileURLToPath(new URL('../../deploy/', import.meta.url));
const DASHBOARD = `${DEPLOY}grafana/tsfu-dashboard.json`;
const RULES = `${DEPLOY}prometheus/tsfu.rules.yml`;

/** Series Prometheus makes itself for every target; no exporter serves them. */
const SYNTHETIC = new Set(['up']);
/**
 * Labelled series that only appear on events this test does not cause (each a test of its own elsewhere): the
 * name must still be registered, with the right type.
 */
const EVENT_ONLY = new Map([
  ['tsfu_sfu_layer_switches_total', 'simulcast layer switches (test/integration/simulcast.test.ts)'],
  ['tsfu_sfu_ice_restarts_refused_total', 'ICE restarts over the rate limit (test/integration/ice-restart.test.ts)'],
  ['tsfu_signaling_moderation_actions_total', 'moderation requests (test/integration/moderation.test.ts)'],
  ['tsfu_room_api_requests_total', 'room service API requests (test/integration/room-api.test.ts)'],
]);

let server: RunningServer;
let exposition: string;
const bots: Bot[] = [];
const clients: SignalingClient[] = [];

beforeAll(async () => {
  server = await startTestServer();
  // Media both ways and an ICE restart: the SFU's labelled series (kind, peer).
  const alice = await Bot.join(server.signalingUrl, 'obs', 'alice');
  const bob = await Bot.join(server.signalingUrl, 'obs', 'bob');
  bots.push(alice, bob);
  await alice.publish();
  await bob.receivesTracks(2, 20);
  bob.requestSubscriberIceRestart();
  await waitUntil(async () => (await metricTotal(server, 'tsfu_sfu_ice_restarts_total', 'peer="subscriber"')) >= 1, 10_000, 'the ICE restart counted');
  // A client's own connect times (what the SDK sends once connected).
  const { client: carol } = await joinRoom(server.signalingUrl, 'obs', 'carol');
  clients.push(carol);
  carol.send({ type: 'clientMetrics', wsConnectMs: 8, iceConnectMs: { subscriber: 120, publisher: 150 }, selectedCandidateType: { subscriber: 'host', publisher: 'relay' } });
  await waitUntil(async () => (await metricTotal(server, 'tsfu_client_connections_total')) >= 2, 5000, 'clientMetrics counted');
  // A refused join and a refused resume: the failure counters by reason.
  const mallory = await SignalingClient.connect(server.signalingUrl);
  clients.push(mallory);
  mallory.send({ type: 'join', room: 'obs', token: await testToken({ room: 'other', identity: 'mallory' }) });
  await mallory.closed;
  const stranger = await SignalingClient.connect(server.signalingUrl);
  clients.push(stranger);
  await stranger.expectError({ type: 'resume', token: 'no-such-session', lastReceived: 0 });
  exposition = await (await fetch(`${server.url}/metrics`)).text();
});

afterAll(async () => {
  for (const client of clients) client.close();
  for (const bot of bots) await bot.close();
  await server?.close();
});

/** Metric name → type, from the `# TYPE` lines; and the names that have at least one sample. */
function parseExposition(text: string): { types: Map<string, string>; sampled: Set<string> } {
  const types = new Map<string, string>();
  const sampled = new Set<string>();
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) types.set(type[1], type[2]);
    else if (line !== '' && !line.startsWith('#')) sampled.add(/^[^{ ]+/.exec(line)![0]);
  }
  return { types, sampled };
}

/** The registered metric a sample name belongs to: histograms and summaries serve `_bucket`, `_sum`, `_count`. */
function family(name: string, types: Map<string, string>): { base: string; type: string | undefined } {
  if (types.has(name)) return { base: name, type: types.get(name) };
  const suffix = /^(.*)_(bucket|sum|count)$/.exec(name);
  if (!suffix) return { base: name, type: undefined };
  const type = types.get(suffix[1]);
  const fits = type === 'histogram' || (type === 'summary' && suffix[2] !== 'bucket');
  return { base: suffix[1], type: fits ? type : undefined };
}

function checkNames(exprs: string[]): void {
  const { types, sampled } = parseExposition(exposition);
  expect(exprs.length).toBeGreaterThan(0);
  const problems: string[] = [];
  for (const expr of exprs) {
    const names = promqlMetricNames(expr);
    if (names.length === 0) problems.push(`no metric in: ${expr}`);
    for (const name of names) {
      if (SYNTHETIC.has(name)) continue;
      const { base, type } = family(name, types);
      if (type === undefined) problems.push(`${name} is not served by /metrics (in: ${expr})`);
      else if (type === 'histogram' && base === name) problems.push(`${name} is a histogram: query its _bucket, _sum or _count (in: ${expr})`);
      else if (!sampled.has(name) && !EVENT_ONLY.has(base)) problems.push(`${name} has no sample after the exercise (in: ${expr})`);
    }
  }
  expect(problems).toEqual([]);
}

describe('/metrics serves what the operator files query', () => {
  test('every metric of the Grafana dashboard', () => checkNames(dashboardExpressions(DASHBOARD)));

  test('every metric of the alert rules', () => checkNames(ruleExpressions(RULES)));

  test('the exercise made the labelled series the dashboard splits by', () => {
    expect(exposition).toMatch(/^tsfu_client_connections_total\{peer="subscriber",candidate_type="host"\} 1$/m);
    expect(exposition).toMatch(/^tsfu_client_connections_total\{peer="publisher",candidate_type="relay"\} 1$/m);
    expect(exposition).toMatch(/^tsfu_client_ice_connect_seconds_count\{peer="publisher"\} 1$/m);
    expect(exposition).toMatch(/^tsfu_client_websocket_connect_seconds_count 1$/m);
    expect(exposition).toMatch(/^tsfu_signaling_join_failures_total\{reason="WRONG_ROOM"\} 1$/m);
    expect(exposition).toMatch(/^tsfu_signaling_resumes_total\{outcome="failed"\} 1$/m);
    expect(exposition).toMatch(/^tsfu_sfu_forwarded_packets_total\{kind="video"\} [1-9]/m);
  });

  test('every name the checks allow without samples is still served', () => {
    const { types } = parseExposition(exposition);
    for (const name of EVENT_ONLY.keys()) expect(types.has(name), name).toBe(true);
  });
});
