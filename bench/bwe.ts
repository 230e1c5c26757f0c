/**
 * `npm run bench:bwe`: the shaped-link scenarios (test/shaped/: three Chromium cameras with simulcast, a student
 * limited to 600 kbit/s and lifted, 3 % random loss for 60 s, dynacast resuming a stopped encoding), run headless
 * inside a network namespace of their own (scripts/in-netns.sh), then their measurements as `name: value` lines:
 *
 *   bwe_limited_fps          median frame rate of the three low layers the limited student decodes (20 s)
 *   bwe_limited_freeze_ms    their frozen time in those 20 s, all three together
 *   bwe_limited_top_keyframes_above_baseline   top-layer key frames while limited, over 20 s unshaped
 *   bwe_recovery_s           limit lifted → all three high layers decoded again
 *   bwe_switches_per_min     layer switches under 3 % random loss, after the first 10 s
 *   dynacast_resume_ms       tile enlarged → the publisher's stopped top encoding sending again
 *
 * The tests' own assertions still apply: a scenario that misses its target fails the run (exit code 1).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const dir = mkdtempSync(join(tmpdir(), 'tsfu-bwe-'));
const report = join(dir, 'report.txt');
const run = spawnSync('bash', ['scripts/in-netns.sh', 'npx', 'vitest', 'run', '--project', 'shaped'], {
  // vitest's own output goes to stderr: stdout carries only the measurements.
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
console.log(`scenarios_passed: ${run.status === 0 ? 'all' : 'no (see the vitest output above)'}`);
process.exit(run.status ?? 1);
