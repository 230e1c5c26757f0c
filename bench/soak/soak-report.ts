import { percentile } from '../lib/stats.js';
import type { SoakResult } from './soak-run.js';

export const RSS_GROWTH_LIMIT_PCT = 10;
export const MIN_WINDOW_LIMIT_PCT = 90;

export interface SoakCriterion {
  name: string;
  pass: boolean;
  detail: string;
}

export interface SoakVerdict {
  criteria: SoakCriterion[];
  pass: boolean;
  /** `name: value` lines, the last lines of the soak's output. */
  metrics: [string, string | number][];
}

/** RSS growth from the end of warm-up to the end of the run (everyone still in), both after a forced GC. */
export function rssGrowthPct(result: SoakResult): number {
  return ((result.server.end.memory.rss - result.server.warm.memory.rss) / result.server.warm.memory.rss) * 100;
}

/** The worst judged window's delivery (100 when no window could be judged, which fails its own criterion). */
export function minWindowPct(result: SoakResult): number {
  return result.delivery.worst?.pct ?? 100;
}

export function judge(result: SoakResult): SoakVerdict {
  const growth = rssGrowthPct(result);
  const minWindow = minWindowPct(result);
  const { delivery, leaked } = result;
  const worst = delivery.worst;
  const criteria: SoakCriterion[] = [
    {
      name: `server RSS at the end within ${RSS_GROWTH_LIMIT_PCT} % of its level after warm-up (${s(result.warmupMs)} s)`,
      pass: growth <= RSS_GROWTH_LIMIT_PCT,
      detail: `${mb(result.server.warm.memory.rss)} → ${mb(result.server.end.memory.rss)} MB (${growth.toFixed(1)} %)`,
    },
    {
      name: 'nothing left once everyone has left (SFU objects, sessions, UDP sockets, TCP sockets, timers)',
      pass: leaked.objects === 0,
      detail: Object.entries(leaked.detail).map(([k, v]) => `${k}=${v}`).join(' '),
    },
    {
      name: `no subscriber's 5-second window below ${MIN_WINDOW_LIMIT_PCT} % delivery`,
      pass: delivery.windows > 0 && minWindow >= MIN_WINDOW_LIMIT_PCT,
      detail:
        delivery.windows === 0
          ? 'no window could be judged'
          : `${delivery.windows} windows, ${delivery.below.length} below; worst ${minWindow.toFixed(2)} % (${worst!.received}/${worst!.sent}, ${worst!.subscriber} ← ${worst!.track} at ${s(worst!.startMs)} s)`,
    },
    {
      name: 'every announced subscription received media within 10 s',
      pass: delivery.stalled.length === 0,
      detail: delivery.stalled.length === 0 ? `${delivery.startMs.length} started` : delivery.stalled.slice(0, 5).map((x) => `${x.subscriber} ← ${x.track} (${s(x.waitedMs)} s)`).join(', '),
    },
    {
      name: 'every join succeeded, with no signaling error or failed connection',
      pass: result.errors.length === 0,
      detail: result.errors.length === 0 ? `${result.joins} joins` : `${result.errors.length}: ${result.errors.slice(0, 5).join('; ')}`,
    },
  ];
  const pass = criteria.every((c) => c.pass);
  const { start, warm, end, afterLeave } = result.server;
  const dataPct = result.data.expected > 0 ? (result.data.delivered / result.data.expected) * 100 : 100;
  const metrics: [string, string | number][] = [
    ['soak_minutes', result.options.minutes],
    ['soak_rooms', result.options.rooms],
    ['soak_participants_per_room', result.options.participantsPerRoom],
    ['soak_joins', result.joins],
    ['soak_churns', result.churns],
    ['soak_warmup_s', round(result.warmupMs / 1000)],
    ['soak_rss_start_mb', mb(start.memory.rss)],
    ['soak_rss_warm_mb', mb(warm.memory.rss)],
    ['soak_rss_end_mb', mb(end.memory.rss)],
    ['soak_rss_max_mb', mb(Math.max(end.memory.rss, ...result.rssSamples))],
    ['soak_rss_after_leave_mb', mb(afterLeave.memory.rss)],
    ['soak_heap_start_mb', mb(start.memory.heapUsed)],
    ['soak_heap_warm_mb', mb(warm.memory.heapUsed)],
    ['soak_heap_end_mb', mb(end.memory.heapUsed)],
    ['soak_heap_after_leave_mb', mb(afterLeave.memory.heapUsed)],
    ['soak_server_handles_baseline', resources(result.server.baseline.resources)],
    ['soak_server_handles_end', resources(end.resources)],
    ['soak_server_handles_after_leave', resources(afterLeave.resources)],
    ['soak_bots_handles_after_leave', resources(result.botsResources.afterLeave)],
    ['soak_server_cpu_pct', round(result.serverCpuPercent)],
    ['soak_forwarded_packets', result.counters.tsfu_sfu_forwarded_packets_total ?? 0],
    ['soak_nacks_received', result.counters.tsfu_sfu_nacks_received_total ?? 0],
    ['soak_retransmitted_packets', result.counters.tsfu_sfu_retransmitted_packets_total ?? 0],
    ['soak_plis_sent', result.counters.tsfu_sfu_plis_sent_total ?? 0],
    ['soak_windows', delivery.windows],
    ['soak_windows_below_90', delivery.below.length],
    ['soak_delivery_pct', delivery.sent > 0 ? round((delivery.received / delivery.sent) * 100, 3) : 0],
    ['soak_stalled_subscriptions', delivery.stalled.length],
    ['soak_subscription_start_p50_ms', round(percentile(delivery.startMs, 50))],
    ['soak_subscription_start_max_ms', round(percentile(delivery.startMs, 100))],
    ['soak_max_subscriber_offer_mlines', result.maxOfferMLines],
    ['soak_data_messages_sent', result.data.sent],
    ['soak_data_delivery_pct', round(dataPct, 3)],
    ['soak_rss_growth_pct', round(growth, 2)],
    ['soak_leaked_objects', leaked.objects],
    ['soak_min_window_pct', round(minWindow, 2)],
    ['soak_pass', pass ? 1 : 0],
  ];
  return { criteria, pass, metrics };
}

export function formatVerdict(verdict: SoakVerdict, result: SoakResult): string {
  const lines: string[] = [];
  for (const c of verdict.criteria) lines.push(`${c.pass ? 'PASS' : 'FAIL'}  ${c.name}: ${c.detail}`);
  if (result.delivery.below.length > 0) {
    lines.push('windows below 90 %:');
    for (const w of result.delivery.below.slice(0, 20)) lines.push(`  ${w.subscriber} ← ${w.track} at ${s(w.startMs)} s: ${w.received}/${w.sent} (${w.pct.toFixed(1)} %)`);
    if (result.delivery.below.length > 20) lines.push(`  ... and ${result.delivery.below.length - 20} more`);
  }
  const involved = new Set([...result.delivery.below.slice(0, 20).map((w) => w.subscriber), ...result.delivery.stalled.map((x) => x.subscriber)]);
  if (involved.size > 0) {
    lines.push('those subscribers when they left:');
    for (const key of involved) lines.push(`  ${key}: ${result.participantStates[key] ?? '?'}`);
  }
  if (result.data.missing.length > 0) {
    lines.push(`reliable data messages not delivered (${result.data.expected - result.data.delivered} of ${result.data.expected}), first ones:`);
    for (const m of result.data.missing) lines.push(`  ${m}`);
    lines.push(`  by receiver: ${Object.entries(result.data.missingByReceiver).map(([k, n]) => `${k}=${n}`).join(' ')}`);
  }
  lines.push('');
  for (const [name, value] of verdict.metrics) lines.push(`${name}: ${value}`);
  return lines.join('\n');
}

const round = (value: number, digits = 1) => (Number.isFinite(value) ? Math.round(value * 10 ** digits) / 10 ** digits : 0);
const mb = (bytes: number) => round(bytes / 2 ** 20);
const s = (ms: number) => round(ms / 1000);
const resources = (counts: Record<string, number>) =>
  Object.entries(counts)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
