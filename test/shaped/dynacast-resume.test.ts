import { expect, test } from 'vitest';
import type { RunningServer } from '../../server/app.js';
import type { LaunchedChromium } from '../helpers/chromium.js';
import { useBrowserSuite } from '../helpers/browser-suite.js';
import { BrowserParticipant, eventually } from '../helpers/browser-participant.js';
import { reportMeasurement } from '../helpers/bench-report.js';

let server: RunningServer;
let browser: LaunchedChromium;
const people: BrowserParticipant[] = [];

useBrowserSuite(people, (s, b) => {
  server = s;
  browser = b;
});

test('dynacast: the top encoding nobody watches stops, and starts again within 2 s of a student enlarging the tile', async () => {
  const teacher = await BrowserParticipant.join(browser, server, 'dynacast-resume', 'teacher', { width: 1280, height: 720, audio: false });
  const student = await BrowserParticipant.join(browser, server, 'dynacast-resume', 'student', { video: false, audio: false });
  people.push(teacher, student);
  const published = [...server.sfu.room('dynacast-resume').participant('teacher')!.publishedTracks.values()][0];
  const setTile = (width: number, height: number) =>
    student.page.evaluate(
      ({ trackId, width, height }) => (window as unknown as { __room: { setTrackSettings(id: string, s: unknown): void } }).__room.setTrackSettings(trackId, { width, height }),
      { trackId: published.id, width, height },
    );
  await eventually(async () => (await teacher.outbound()).f?.framesSent ?? 0, (n) => n > 0, 40_000, 'the top layer being sent');
  // A 160x90 tile: after the downgrade delay nobody needs the top layer, and Chromium stops encoding it.
  await setTile(160, 90);
  const stopped = async () => {
    const before = (await teacher.outbound()).f.framesSent;
    await new Promise((resolve) => setTimeout(resolve, 500));
    return (await teacher.outbound()).f.framesSent === before;
  };
  await eventually(stopped, (s) => s, 20_000, 'the top encoding stopped');
  const sentBefore = (await teacher.outbound()).f.framesSent;
  const enlargedAt = performance.now();
  await setTile(1280, 720);
  await eventually(async () => (await teacher.outbound()).f.framesSent, (n) => n > sentBefore, 5000, 'the top encoding sending again');
  const resumeMs = performance.now() - enlargedAt;
  reportMeasurement('dynacast_resume_ms', Math.round(resumeMs));
  expect(resumeMs).toBeLessThanOrEqual(2000);
});
