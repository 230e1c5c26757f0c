/**
 * The browser half of `npm run bench:cluster`: the Chromium scenarios that measure a session kept through a cut
 * (test/e2e/session-resume.test.ts: signaling reset for 3 s; test/e2e/ice-restart.test.ts: the media path cut for
 * 3 s and 10 s), run inside a network namespace of their own (scripts/in-netns.sh), then their measurements as
 * `name: value` lines:
 *
 *   resume_media_gap_ms        longest stretch without a decoded video frame around the signaling cut
 *   resume_after_cut_ms        cut over → the SDK's `reconnected` (the session resumed)
 *   ice_restart_media_gap_ms   10 s media cut over → audio and video flowing again at both participants
 *
 * The tests' own assertions still apply: a scenario that misses its target fails the run (exit code 1).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const dir = mkdtempSync(join(tmpdir(), 'tsfu-cluster-browser-'));
const report = join(dir, 'report.txt');
const run = spawnSync('bash', ['scripts/in-netns.sh', 'npx', 'vitest', 'run', 'test/e2e/session-resume.test.ts', 'test/e2e/ice-restart.test.ts'], {
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
console.log(`browser_scenarios_passed: ${run.status === 0 ? 'all' : 'no (see the vitest output above)'}`);
process.exit(run.status ?? 1);
