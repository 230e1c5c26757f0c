import { expect, test } from 'vitest';
import { formatVerdict, judge, MIN_WINDOW_LIMIT_PCT, RSS_GROWTH_LIMIT_PCT } from '../../bench/soak/soak-report.js';
import { runSoak } from '../../bench/soak/soak-run.js';

// The soak of `npm run soak` (bench/soak/soak-run.ts), 2 minutes: 3 rooms × 5 werift bots with churn, data and
// media throughout, against the server in its own process.
test('three rooms with churn for two minutes: memory flat, nothing left behind, every window delivered', async () => {
  const result = await runSoak({ minutes: 2 });
  const verdict = judge(result);
  const report = formatVerdict(verdict, result);
  console.log(report); // the figures of every run, as `npm run soak` prints them
  const metric = (name: string) => Number(verdict.metrics.find(([n]) => n === name)?.[1]);
  expect(result.churns, report).toBeGreaterThanOrEqual(9);
  expect(metric('soak_rss_growth_pct'), report).toBeLessThanOrEqual(RSS_GROWTH_LIMIT_PCT);
  expect(metric('soak_leaked_objects'), report).toBe(0);
  expect(result.delivery.windows, report).toBeGreaterThan(500);
  expect(metric('soak_min_window_pct'), report).toBeGreaterThanOrEqual(MIN_WINDOW_LIMIT_PCT);
  expect(result.delivery.stalled, report).toEqual([]);
  expect(result.errors, report).toEqual([]);
  expect(verdict.pass, report).toBe(true);
});
