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
import { runMeasuredTests } from './lib/measured-tests.js';

runMeasuredTests(['test/e2e/session-resume.test.ts', 'test/e2e/ice-restart.test.ts'], 'browser_scenarios_passed');
