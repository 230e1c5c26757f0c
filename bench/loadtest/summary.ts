import { percentile } from '../lib/stats.js';
import type { BotResult, WorkerReply } from './messages.js';
import type { LoadTestOptions } from './options.js';
import type { LiveTally } from './live-tally.js';

type WorkerResult = Extract<WorkerReply, { type: 'result' }>;

/** What an operator should check first when joins fail with these codes. */
const HINTS: Record<string, string> = {
  TOKEN_INVALID: 'the server does not accept this key: check --api-key and --api-secret against its auth.keys (TSFU_AUTH_KEYS)',
  TOKEN_EXPIRED: "the tokens expired: check this machine's clock",
  ECONNREFUSED: 'nothing listens at --url: check host and port',
  ENOTFOUND: 'the host in --url does not resolve',
  HTTP_404: 'no signaling endpoint at that path: the server answers at /v1/rtc (or give its http:// base)',
  CONNECTION_RATE_LIMITED:
    'every bot connects from this address: lower --ramp, or raise the server\'s signaling.connectionsPerIpPerSecond / connectionBurstPerIp (5/s, burst 30 by default)',
  TIMEOUT: 'the server did not answer in time: is the URL reachable from here?',
};

/** A bot process above this CPU share may itself have limited the figures. */
const SATURATED_CPU_PERCENT = 85;
/**
 * A bot process whose event loop lagged this long: its publishers' 33 ms frame timers ran late and do not catch up,
 * so they sent less than asked (received bitrate falls with no loss) even when its CPU average looks moderate.
 */
const LAGGING_LOOP_MS = 150;

export interface Spread {
  p50: number | null;
  p95?: number | null;
  min?: number | null;
  max?: number | null;
}

/** The run's outcome, as printed by --json. Times in ms, bitrates in kbit/s, loss in percent. */
export interface Summary {
  url: string;
  rooms: number;
  publishersPerRoom: number;
  subscribersPerRoom: number;
  durationSeconds: number;
  joins: { attempted: number; ok: number; failed: number; failedByCode: Record<string, number>; droppedAfterJoin: Record<string, number> };
  /** Connect (and redirects) → `joined`. */
  joinMs: Spread;
  /** Publishers: connect → publish answered (simulcast: → connected and sending). */
  publishMs: Spread;
  /** Subscribers: connect → first RTP packet. */
  firstMediaMs: Spread;
  subscribersWithoutMedia: number;
  subscriberKbps: Spread;
  subscriberLossPercent: Spread;
  rttMs: Spread & { samples: number };
  serverErrors: Record<string, number>;
  /** Bot processes' CPU in % of one core: over the whole run, and in the steady state after the last join. */
  tool: { mainCpuPercent: number; processes: { bots: number; cpuPercent: number; steadyCpuPercent: number | null; maxEventLoopDelayMs: number; rssMiB: number }[]; saturated: boolean };
  /** Join failures plus bots dropped after joining, against --max-failures. */
  failures: number;
  failuresAllowed: number;
  ok: boolean;
}

const rounded = (v: number, digits = 1) => (Number.isNaN(v) ? null : Math.round(v * 10 ** digits) / 10 ** digits);

function spread(values: number[], keys: ('p95' | 'min' | 'max')[]): Spread {
  const s: Spread = { p50: rounded(percentile(values, 50)) };
  for (const k of keys) s[k] = rounded(k === 'p95' ? percentile(values, 95) : k === 'min' ? percentile(values, 0) : percentile(values, 100));
  return s;
}

export function summarize(options: LoadTestOptions, tally: LiveTally, results: WorkerResult[], mainCpuPercent: number): Summary {
  const bots: BotResult[] = results.flatMap((r) => r.bots);
  const joined = bots.filter((b) => b.joinMs !== undefined);
  const subscribers = joined.filter((b) => b.role === 'subscriber');
  const withMedia = subscribers.filter((b) => b.firstMediaMs !== undefined);
  const serverErrors: Record<string, number> = {};
  for (const r of results) for (const [code, n] of Object.entries(r.serverErrors)) serverErrors[code] = (serverErrors[code] ?? 0) + n;
  const steady = tally.steadyCpuPercent();
  const processes = results.map((r, i) => ({
    bots: r.bots.length,
    cpuPercent: rounded((r.cpuMicros / 1000 / r.wallMs) * 100, 0) ?? 0,
    steadyCpuPercent: steady[i] ?? null,
    maxEventLoopDelayMs: rounded(r.maxEventLoopDelayMs, 0) ?? 0,
    rssMiB: Math.round(r.rssBytes / 2 ** 20),
  }));
  const failures = tally.failed + tally.dropped;
  const failuresAllowed = options.maxFailuresShare ? Math.floor((options.maxFailures / 100) * tally.total) : options.maxFailures;
  return {
    url: options.signalingUrl,
    rooms: options.rooms,
    publishersPerRoom: options.publishers,
    subscribersPerRoom: options.subscribers,
    durationSeconds: options.durationSeconds,
    joins: {
      attempted: tally.joined + tally.failed,
      ok: tally.joined,
      failed: tally.failed,
      failedByCode: Object.fromEntries([...tally.failuresByCode].map(([code, { count }]) => [code, count])),
      droppedAfterJoin: Object.fromEntries(tally.droppedByCode),
    },
    joinMs: spread(joined.map((b) => b.joinMs!), ['p95']),
    publishMs: spread(joined.flatMap((b) => (b.publishedMs === undefined ? [] : [b.publishedMs])), ['p95']),
    firstMediaMs: spread(withMedia.map((b) => b.firstMediaMs!), ['p95']),
    subscribersWithoutMedia: subscribers.length - withMedia.length,
    // A subscriber that never received anything counts as 0 kbit/s.
    subscriberKbps: spread(subscribers.map((b) => (b.rxSeconds > 0 ? (b.rxBytes * 8) / b.rxSeconds / 1000 : 0)), ['min']),
    subscriberLossPercent: spread(withMedia.filter((b) => b.rxExpected > 0).map((b) => (b.rxLost / b.rxExpected) * 100), ['max']),
    rttMs: { ...spread(bots.flatMap((b) => b.rttsMs), ['p95']), samples: bots.reduce((n, b) => n + b.rttsMs.length, 0) },
    serverErrors,
    tool: { mainCpuPercent: rounded(mainCpuPercent, 0) ?? 0, processes, saturated: processes.some((p) => Math.max(p.cpuPercent, p.steadyCpuPercent ?? 0) >= SATURATED_CPU_PERCENT) },
    failures,
    failuresAllowed,
    ok: failures <= failuresAllowed && tally.joined > 0,
  };
}

/** The human-readable table. */
export function formatSummary(s: Summary, failureMessages: Map<string, { count: number; message: string }>): string {
  const n = (v: number | null | undefined, unit = '') => (v === null || v === undefined ? '-' : `${v}${unit}`);
  const codes = (counts: Record<string, number>) => Object.entries(counts).map(([code, count]) => `${code} ×${count}`).join(', ') || 'none';
  const rows: [string, string][] = [
    ['joins ok / failed', `${s.joins.ok} / ${s.joins.failed} of ${s.joins.attempted}${s.joins.failed ? ` (${codes(s.joins.failedByCode)})` : ''}`],
    ['dropped after join', codes(s.joins.droppedAfterJoin)],
    ['join p50 / p95', `${n(s.joinMs.p50)} / ${n(s.joinMs.p95)} ms (connect → joined)`],
    ['publish p50 / p95', `${n(s.publishMs.p50)} / ${n(s.publishMs.p95)} ms (connect → publish answered)`],
    ['first media p50 / p95', `${n(s.firstMediaMs.p50)} / ${n(s.firstMediaMs.p95)} ms (subscriber connect → first RTP; ${s.subscribersWithoutMedia} got none)`],
    ['rx per subscriber', `p50 ${n(s.subscriberKbps.p50)} kbit/s, min ${n(s.subscriberKbps.min)} kbit/s (RTP payload)`],
    ['loss per subscriber', `p50 ${n(s.subscriberLossPercent.p50)} %, max ${n(s.subscriberLossPercent.max)} % (sequence gaps after retransmission)`],
    ['signaling RTT p50 / p95', `${n(s.rttMs.p50)} / ${n(s.rttMs.p95)} ms (${s.rttMs.samples} server rtt reports)`],
    ['server errors', codes(s.serverErrors)],
    ['tool CPU', `main ${s.tool.mainCpuPercent}%; bot processes ${s.tool.processes.map((p) => `${p.cpuPercent}% (steady ${n(p.steadyCpuPercent, '%')}; ${p.bots} bots, loop max ${p.maxEventLoopDelayMs} ms, ${p.rssMiB} MiB)`).join(', ')}`],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  const lines = [
    `tsfu load test: ${s.rooms} room(s) × ${s.publishersPerRoom} publisher(s) × ${s.subscribersPerRoom} subscriber(s), ${s.durationSeconds} s, ${s.url}`,
    ...rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`),
  ];
  for (const [code, { count, message }] of failureMessages) lines.push(`  failed join (${code} ×${count}): ${message}${HINTS[code] ? `\n    hint: ${HINTS[code]}` : ''}`);
  const lagging = Math.max(...s.tool.processes.map((p) => p.maxEventLoopDelayMs));
  if (lagging >= LAGGING_LOOP_MS) lines.push(`warning: a bot process's event loop lagged up to ${lagging} ms: its publishers sent late frames, so a lower bitrate may be the tool's, not the server's`);
  if (s.tool.saturated) lines.push(`warning: a bot process ran at ${SATURATED_CPU_PERCENT}% CPU or more, so the tool may have been the limit: use more --processes, or run bots from several machines`);
  if (!s.ok) lines.push(s.joins.ok === 0 ? 'FAILED: no join succeeded' : `FAILED: ${s.failures} failed or dropped joins, more than --max-failures allows (${s.failuresAllowed})`);
  return lines.join('\n');
}
