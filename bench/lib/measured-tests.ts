import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Runs `vitest run <args>` inside a network namespace of its own (scripts/in-netns.sh) with TSFU_BENCH_REPORT set,
 * so that the tests' `reportMeasurement` calls (test/helpers/bench-report.ts) collect their figures; prints those as
 * `name: value` lines on stdout (vitest's own output goes to stderr), then `<passedLine>: all` or `no`, and exits
 * with vitest's status: a scenario that misses its target fails the benchmark.
 */
export function runMeasuredTests(vitestArgs: string[], passedLine: string): never {
  const dir = mkdtempSync(join(tmpdir(), 'tsfu-measured-'));
  const report = join(dir, 'report.txt');
  const run = spawnSync('bash', ['scripts/in-netns.sh', 'npx', 'vitest', 'run', ...vitestArgs], {
    stdio: ['ignore', 2, 2],
    env: { ...process.env, TSFU_BENCH_REPORT: report },
  });
  let lines = '';
  try {
    lines = readFileSync(report, 'utf8');
  } catch {
    // No scenario got as far as a measurement.
  }
  rmSync(dir, { recursive: true, force: true });
  process.stdout.write(lines);
  console.log(`${passedLine}: ${run.status === 0 ? 'all' : 'no (see the vitest output above)'}`);
  process.exit(run.status ?? 1);
}
