/**
 * A full classroom: N werift bots (default 100) join one room `--spacing` ms apart, each publishing camera and
 * microphone (negotiated, no RTP: negotiation is what is measured). The server runs in a child process so its
 * CPU, RSS and event-loop delay (perf_hooks.monitorEventLoopDelay) are its own.
 *
 *   npx tsx bench/full-room.ts [--participants 100] [--spacing 400] [--steady 20]
 *
 * TSFU_BENCH_CPU_PROFILE_DIR=dir writes the server's CPU profile there.
 *
 * Prints `name: value` lines: join → converged p50/p99/max (a join has converged when the joiner's publish is
 * answered, the joiner has negotiated every track published before it joined, and everyone already there has
 * negotiated the joiner's tracks), the server's largest event-loop stall, RSS and CPU, RSS growth in steady state,
 * failed connections, and the signaling errors the bots received.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { Bot } from '../test/helpers/bot.js';

type ToServer = { type: 'sample'; resetLoop?: boolean } | { type: 'stop' };
type FromServer =
  | { type: 'ready'; signalingUrl: string }
  | { type: 'sample'; cpuMicros: number; rssBytes: number; maxStallMs: number; p99StallMs: number };

if (process.argv.includes('--server')) await serverMain();
else await benchMain();

async function serverMain(): Promise<void> {
  const { startTestServer } = await import('../test/helpers/server.js');
  const server = await startTestServer({ signaling: { connectionBurstPerIp: 1000, connectionsPerIpPerSecond: 1000 } });
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  const send = (message: FromServer) => process.send?.(message);
  send({ type: 'ready', signalingUrl: server.signalingUrl });
  process.on('message', (message: ToServer) => {
    if (message.type === 'stop') {
      void server.close().finally(() => process.exit(0));
      return;
    }
    const { user, system } = process.cpuUsage();
    send({
      type: 'sample',
      cpuMicros: user + system,
      rssBytes: process.memoryUsage().rss,
      maxStallMs: loop.max / 1e6,
      p99StallMs: loop.percentile(99) / 1e6,
    });
    if (message.resetLoop) loop.reset();
  });
}

async function benchMain(): Promise<void> {
  const { values } = parseArgs({
    options: { participants: { type: 'string', default: '100' }, spacing: { type: 'string', default: '400' }, steady: { type: 'string', default: '20' } },
  });
  const participants = Number(values.participants);
  const spacingMs = Number(values.spacing);
  const steadySeconds = Number(values.steady);
  const { Bot: BotClass } = await import('../test/helpers/bot.js');

  const child: ChildProcess = fork(fileURLToPath(import.meta.url), ['--server'], { execArgv: ['--import', 'tsx', ...(process.env.TSFU_BENCH_CPU_PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.TSFU_BENCH_CPU_PROFILE_DIR}`] : [])], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const replies: ((m: FromServer) => void)[] = [];
  child.on('message', (m: FromServer) => replies.shift()?.(m));
  const onEarlyExit = (code: number | null) => {
    console.error(`the server process exited (${code}) before the benchmark ended`);
    process.exit(1);
  };
  child.once('exit', onEarlyExit);
  const next = () => new Promise<FromServer>((resolve) => replies.push(resolve));
  const ready = (await next()) as Extract<FromServer, { type: 'ready' }>;
  const sample = async (resetLoop = false) => {
    const reply = next();
    child.send({ type: 'sample', resetLoop } satisfies ToServer);
    return (await reply) as Extract<FromServer, { type: 'sample' }>;
  };
  await sample(true); // start the stall measurement with the room, not the server's start-up

  interface Joiner {
    bot?: Bot;
    startedAt: number;
    convergedAt?: number;
    tracks: string[];
    /** Bots present and tracks published when this one joined. */
    before: { bot: Bot; tracks: string[] }[];
    published: boolean;
  }
  const joiners: Joiner[] = [];
  const cpuStart = (await sample()).cpuMicros;
  const startedAt = performance.now();
  const joining: Promise<void>[] = [];
  for (let i = 0; i < participants; i++) {
    const joiner: Joiner = {
      startedAt: performance.now(),
      tracks: [],
      before: joiners.filter((j) => j.bot && j.published).map((j) => ({ bot: j.bot!, tracks: j.tracks })),
      published: false,
    };
    joiners.push(joiner);
    joining.push(
      (async () => {
        joiner.bot = await BotClass.join(ready.signalingUrl, 'classroom', `participant ${i} 🎓`);
        joiner.tracks = await joiner.bot.publish({ sendMedia: false });
        joiner.published = true;
      })().catch((error: unknown) => console.error(`participant ${i}: ${(error as Error).message}`)),
    );
    await new Promise((resolve) => setTimeout(resolve, spacingMs));
  }
  // A bot the server gave up on (CONNECTION_FAILED, NEGOTIATION_FAILED: reported and closed) is out of the room.
  const failed = (bot: Bot | undefined) =>
    bot?.signaling.messages.some((m) => m.type === 'error' && (m.code === 'CONNECTION_FAILED' || m.code === 'NEGOTIATION_FAILED')) ?? false;
  const isConverged = (j: Joiner) =>
    j.published &&
    j.bot!.hasNegotiated(j.before.filter((b) => !failed(b.bot)).flatMap((b) => b.tracks)) &&
    j.before.every((b) => failed(b.bot) || b.bot.hasNegotiated(j.tracks));
  const deadline = performance.now() + 120_000;
  let peakRss = 0;
  while (performance.now() < deadline && joiners.some((j) => j.convergedAt === undefined && !failed(j.bot))) {
    const now = performance.now();
    for (const j of joiners) if (j.convergedAt === undefined && isConverged(j)) j.convergedAt = now;
    peakRss = Math.max(peakRss, (await sample()).rssBytes);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await Promise.all(joining);
  const allConvergedMs = performance.now() - startedAt;
  const settled = await sample(true);
  const cpuSeconds = (settled.cpuMicros - cpuStart) / 1e6;

  // Steady state: nobody joins or leaves; RSS should stay flat and the loop quiet.
  const rssStart = (await sample()).rssBytes;
  await new Promise((resolve) => setTimeout(resolve, steadySeconds * 1000));
  const steady = await sample();

  const bots = joiners.map((j) => j.bot).filter((b): b is Bot => b !== undefined);
  const errors = new Map<string, number>();
  for (const bot of bots) for (const m of bot.signaling.messages) if (m.type === 'error') errors.set(m.code, (errors.get(m.code) ?? 0) + 1);
  const failedCount = bots.filter((b) => failed(b)).length;
  const times = joiners.filter((j) => j.convergedAt !== undefined && !failed(j.bot)).map((j) => j.convergedAt! - j.startedAt).sort((a, b) => a - b);
  const pct = (p: number) => (times.length ? times[Math.min(times.length - 1, Math.floor((p / 100) * times.length))] : NaN);
  const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(0);
  const offers = bots.reduce((n, b) => n + b.offersReceived, 0);
  const lines: [string, string | number][] = [
    ['participants', participants],
    ['join_spacing_ms', spacingMs],
    ['joins_converged', `${times.length}/${participants - failedCount} (not counting participants the server reported failed)`],
    ['join_converged_p50_ms', pct(50).toFixed(0)],
    ['join_converged_p99_ms', pct(99).toFixed(0)],
    ['join_converged_max_ms', (times.at(-1) ?? NaN).toFixed(0)],
    ['room_converged_ms', allConvergedMs.toFixed(0)],
    ['subscriber_offers', offers],
    ['server_max_event_loop_stall_ms', settled.maxStallMs.toFixed(0)],
    ['server_p99_event_loop_delay_ms', settled.p99StallMs.toFixed(0)],
    ['server_cpu_seconds_during_joins', cpuSeconds.toFixed(1)],
    ['server_rss_peak_mib', mib(peakRss)],
    ['server_rss_steady_start_mib', mib(rssStart)],
    ['server_rss_steady_end_mib', mib(steady.rssBytes)],
    ['server_rss_steady_growth_mib_per_s', ((steady.rssBytes - rssStart) / 2 ** 20 / steadySeconds).toFixed(2)],
    ['server_cpu_percent_steady', (((steady.cpuMicros - settled.cpuMicros) / 1e6 / steadySeconds) * 100).toFixed(0)],
    ['server_max_event_loop_stall_steady_ms', steady.maxStallMs.toFixed(0)],
    ['participants_failed_and_told', failedCount],
    ['signaling_errors', errors.size ? [...errors].map(([code, n]) => `${code}=${n}`).join(',') : 'none'],
  ];
  for (const [name, value] of lines) console.log(`${name}: ${value}`);
  const messages = new Set<string>();
  for (const bot of bots) for (const m of bot.signaling.messages) if (m.type === 'error') messages.add(`${m.code} (${m.requestType ?? '-'}): ${m.message}`);
  for (const message of [...messages].slice(0, 10)) console.error(`error seen: ${message}`);

  await Promise.all(bots.map((b) => b.close()));
  child.off('exit', onEarlyExit);
  child.send({ type: 'stop' } satisfies ToServer);
  await new Promise((resolve) => child.once('exit', resolve));
  process.exit(0);
}
