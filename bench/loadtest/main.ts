/**
 * `npm run loadtest`: a load test against any tsfu server or cluster, in the spirit of LiveKit's `lk load-test`.
 * N rooms × P publishers (synthetic VP8 + Opus, or simulcast VP8) × S subscribers, werift bots spread over
 * `--processes` child processes (bot-worker.ts) so the tool is not the bottleneck, joining at `--ramp` per second
 * and staying `--duration` seconds after the last join. Bots follow `redirect`s, so any node of a cluster will do.
 * A progress line on stderr, then a summary (a table, or JSON with --json). Run with --help for the options.
 */
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Child } from '../lib/child.js';
import { sleep } from '../lib/stats.js';
import { joinPlan } from './join-plan.js';
import { LiveTally } from './live-tally.js';
import type { WorkerReply, WorkerRequest } from './messages.js';
import { OptionsError, parseOptions, usage, type LoadTestOptions } from './options.js';
import { ProgressLine } from './progress-line.js';
import { formatSummary, summarize } from './summary.js';
import { fetchToken } from './token-source.js';

/** The run stops early when this many first joins all failed: the server is unreachable or refuses the key. */
const HOPELESS_AFTER = 10;
/** How long a bot process may take to report and close its bots at the end. */
const STOP_TIMEOUT_MS = 20_000;

function fail(message: string, code: number): never {
  process.stderr.write(`error: ${message}\n`);
  process.exit(code);
}

function readOptions(): LoadTestOptions {
  try {
    const parsed = parseOptions(process.argv.slice(2), process.env);
    if (parsed === 'help') {
      process.stdout.write(`${usage}\n`);
      process.exit(0);
    }
    return parsed;
  } catch (error) {
    // parseArgs throws TypeErrors with codes ERR_PARSE_ARGS_* for unknown options and missing values.
    if (error instanceof OptionsError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) fail(`${(error as Error).message}\n\n${usage}`, 2);
    throw error;
  }
}

const options = readOptions();
// One token first, so an unreachable or key-configured --dev server is one clear message, not N join failures.
await fetchToken(options.token, `${options.roomPrefix}-preflight`, 'preflight').catch((error: Error) => fail(error.message, 2));

const runId = randomBytes(3).toString('hex');
const plan = joinPlan(options, runId);
if (plan.length === 0) fail('nothing to do: --publishers and --subscribers are both 0', 2);
const workerCount = Math.min(options.processes, plan.length);
const entry = fileURLToPath(new URL('./bot-worker.ts', import.meta.url));
const workers = await Promise.all(Array.from({ length: workerCount }, async () => (await Child.start<WorkerRequest, WorkerReply>(entry, [])).child));
const tally = new LiveTally(plan.length, workerCount);
let stopping = false;
const publish = { audioOnly: options.audioOnly, videoKbps: options.videoKbps, simulcast: options.simulcast, layersKbps: options.layersKbps };
workers.forEach((worker, w) => {
  worker.process.send({ type: 'setup', signalingUrl: options.signalingUrl, token: options.token, publish } satisfies WorkerRequest);
  worker.process.on('message', (m: WorkerReply) => {
    if (m.type === 'joined') tally.onJoined(plan[m.index].role);
    else if (m.type === 'failed') tally.onFailed(m.code, m.message, m.afterJoin, plan[m.index].role);
    else if (m.type === 'tick') tally.onTick(w, m);
  });
  worker.process.once('exit', (code) => {
    if (!stopping) fail(`bot process ${w} exited (${code}) before the run ended`, 1);
  });
});

// Ctrl-C ends the run early with its summary (a second one quits at once); the bot processes ignore SIGINT.
let interrupted = false;
process.on('SIGINT', () => {
  if (interrupted) process.exit(130);
  interrupted = true;
});
const startedAt = performance.now();
const cpuAtStart = process.cpuUsage();
const progress = new ProgressLine(process.stderr, () => tally.line((performance.now() - startedAt) / 1000));
progress.start();

// Ramp: one join every 1/ramp s, round-robin over the bot processes.
for (const request of plan) {
  if (interrupted || tally.hopeless(HOPELESS_AFTER)) break;
  workers[request.index % workerCount].process.send({ type: 'join', ...request } satisfies WorkerRequest);
  await sleep(1000 / options.rampPerSecond);
}
tally.markSteady();
// Steady state; ends early when nobody is left in a room (every join failed, or every bot was dropped).
const steadyUntil = performance.now() + options.durationSeconds * 1000;
while (!interrupted && performance.now() < steadyUntil && !tally.hopeless(HOPELESS_AFTER) && !(tally.settled && tally.alive === 0)) await sleep(100);

stopping = true;
progress.stop();
const wallMs = performance.now() - startedAt;
const cpu = process.cpuUsage(cpuAtStart);
const results = await Promise.all(
  workers.map((worker, w) =>
    Promise.race([
      worker.ask({ type: 'stop' }, 'result'),
      sleep(STOP_TIMEOUT_MS).then(() => fail(`bot process ${w} did not report within ${STOP_TIMEOUT_MS / 1000} s`, 1)),
    ]),
  ),
);
await Promise.all(workers.map((worker) => worker.stop({ type: 'stop' })));

const summary = summarize(options, tally, results, ((cpu.user + cpu.system) / 1000 / wallMs) * 100);
const table = formatSummary(summary, tally.failuresByCode) + (interrupted ? `\ninterrupted (Ctrl-C) after ${(wallMs / 1000).toFixed(0)} s` : '');
if (options.json) {
  process.stderr.write(`${table}\n`);
  process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
} else process.stdout.write(`${table}\n`);
process.exit(summary.ok ? 0 : 1);
