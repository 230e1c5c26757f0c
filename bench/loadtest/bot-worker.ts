/**
 * A bot process of the load test (main.ts starts several, so the tool's own CPU is spread over cores): it joins
 * the bots it is asked to, pushes its counters every second (`tick`), and on `stop` replies with every bot's
 * figures (`result`), closes them and exits.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { JoinRefusedError } from '../../test/helpers/signaling-client.js';
import { LoadBot } from './load-bot.js';
import type { JoinRequest, WorkerReply, WorkerRequest } from './messages.js';
import { fetchToken } from './token-source.js';

type Setup = Extract<WorkerRequest, { type: 'setup' }>;

const send = (reply: WorkerReply) => process.send?.(reply);
const bots = new Map<number, LoadBot>();
/** From `setup` on: the process's own start-up (loading werift through tsx) is not the load test's cost. */
let startedAt = performance.now();
let cpuAtSetup = process.cpuUsage();
const loop = monitorEventLoopDelay({ resolution: 10 });
loop.enable();
let setup: Setup | undefined;
let stopping = false;

/** A stable code for why a join failed: the server's error code, a socket error's errno, or TIMEOUT / ERROR. */
function failureCode(error: unknown): string {
  if (error instanceof JoinRefusedError) return error.code;
  const e = error as { code?: unknown; message?: string };
  if (typeof e.code === 'string') return e.code;
  const message = e.message ?? '';
  if (/timed out|timeout/i.test(message)) return 'TIMEOUT';
  const status = /Unexpected server response: (\d+)/.exec(message);
  return status ? `HTTP_${status[1]}` : 'ERROR';
}

async function join(request: JoinRequest): Promise<void> {
  if (!setup || stopping) return;
  const bot = new LoadBot(request);
  bots.set(request.index, bot);
  try {
    const token = await fetchToken(setup.token, request.room, request.identity);
    await bot.join(setup.signalingUrl, token, setup.publish);
  } catch (error) {
    if (stopping) return;
    bots.delete(request.index);
    void bot.close();
    send({ type: 'failed', index: request.index, code: failureCode(error), message: (error as Error).message, afterJoin: false });
    return;
  }
  if (stopping) return;
  send({ type: 'joined', index: request.index });
  void bot.closedByServer.then(({ code, reason }) => {
    if (stopping) return;
    send({ type: 'failed', index: request.index, code: `CLOSED_${code}`, message: reason || 'the server closed the signaling socket', afterJoin: true });
  });
}

/** Signaling `error` messages the bots received, by code. */
function serverErrors(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const bot of bots.values()) for (const m of bot.messages) if (m.type === 'error') counts[String(m.code)] = (counts[String(m.code)] ?? 0) + 1;
  return counts;
}

const ticking = setInterval(() => {
  let rxBytes = 0;
  let rxExpected = 0;
  let rxLost = 0;
  for (const bot of bots.values()) {
    if (bot.request.role !== 'subscriber') continue;
    rxBytes += bot.counter.bytes;
    rxExpected += bot.counter.expected;
    rxLost += bot.counter.lost;
  }
  const { user, system } = process.cpuUsage();
  send({ type: 'tick', at: performance.now(), cpuMicros: user + system, rxBytes, rxExpected, rxLost });
}, 1000);

async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  clearInterval(ticking);
  const now = performance.now();
  const { user, system } = process.cpuUsage(cpuAtSetup);
  send({
    type: 'result',
    bots: [...bots.values()].map((b) => b.result(now)),
    cpuMicros: user + system,
    wallMs: now - startedAt,
    maxEventLoopDelayMs: loop.max / 1e6,
    rssBytes: process.memoryUsage().rss,
    serverErrors: serverErrors(),
  });
  await Promise.all([...bots.values()].map((b) => b.close().catch(() => undefined)));
  process.exit(0);
}

process.on('message', (request: WorkerRequest) => {
  if (request.type === 'setup') {
    setup = request;
    startedAt = performance.now();
    cpuAtSetup = process.cpuUsage();
    loop.reset();
  }
  else if (request.type === 'join') void join(request);
  else if (request.type === 'stop') void stop();
});
process.on('disconnect', () => void stop());
// A terminal's Ctrl-C reaches the whole process group: the load test decides when the bots stop, and asks.
process.on('SIGINT', () => undefined);
send({ type: 'ready' });
