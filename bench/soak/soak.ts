/**
 * `npm run soak -- --minutes N [--rooms 3] [--participants 5] [--video-publishers 2] [--video-pps 150]
 * [--churn-seconds 20]`: rooms of werift bots joining, publishing, subscribing, sending data and leaving on a
 * schedule against the server in its own process (bench/soak/soak-run.ts). Prints progress, then each pass
 * criterion and `name: value` lines; exits 1 when a criterion fails.
 */
import { parseArgs } from 'node:util';
import { formatVerdict, judge } from './soak-report.js';
import { defaultSoakOptions, runSoak } from './soak-run.js';

const { values } = parseArgs({
  options: {
    minutes: { type: 'string' },
    rooms: { type: 'string' },
    participants: { type: 'string' },
    'video-publishers': { type: 'string' },
    'video-pps': { type: 'string' },
    'churn-seconds': { type: 'string' },
  },
});

function number(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed <= 0) throw new Error(`--${name} must be a positive number, got "${value}"`);
  return parsed;
}

const started = Date.now();
const result = await runSoak({
  minutes: number('minutes', values.minutes, defaultSoakOptions.minutes),
  rooms: number('rooms', values.rooms, defaultSoakOptions.rooms),
  participantsPerRoom: number('participants', values.participants, defaultSoakOptions.participantsPerRoom),
  videoPublishersPerRoom: number('video-publishers', values['video-publishers'], defaultSoakOptions.videoPublishersPerRoom),
  videoPps: number('video-pps', values['video-pps'], defaultSoakOptions.videoPps),
  churnIntervalMs: number('churn-seconds', values['churn-seconds'], defaultSoakOptions.churnIntervalMs / 1000) * 1000,
  log: (line) => console.log(`[soak +${((Date.now() - started) / 1000).toFixed(0)}s] ${line}`),
});
const verdict = judge(result);
console.log(formatVerdict(verdict, result));
process.exit(verdict.pass ? 0 : 1);
