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
import { runMeasuredTests } from './lib/measured-tests.js';

runMeasuredTests(['--project', 'shaped'], 'scenarios_passed');
