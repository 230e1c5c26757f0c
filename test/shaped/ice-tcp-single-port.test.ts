import { afterAll, expect, test } from 'vitest';
import type { RunningServer } from '../../server/app.js';
import type { LaunchedChromium } from '../helpers/chromium.js';
import { useBrowserSuite } from '../helpers/browser-suite.js';
import { BrowserParticipant, eventually, type InboundSnapshot } from '../helpers/browser-participant.js';
import { waitUntil } from '../helpers/bot.js';
import { LinkShaper } from '../helpers/link-shaper.js';

let server: RunningServer;
let browser: LaunchedChromium;
const people: BrowserParticipant[] = [];
const shaper = new LinkShaper();

useBrowserSuite(
  people,
  (s, b) => {
    server = s;
    browser = b;
  },
  { rtc: { udpPort: 0, tcpPort: 0 } },
);
afterAll(() => shaper.clear());

const decodedVideo = (stats: InboundSnapshot[]) => stats.filter((s) => s.kind === 'video' && s.framesDecoded > 30);

test('with UDP blocked, browsers publish and receive over ICE-TCP through the node\'s one TCP port', async () => {
  const udp = server.udpMux!;
  const tcp = server.tcpMux!;
  // Everything the UDP port sends is lost (a firewall letting only TCP through): no UDP pair can succeed.
  shaper.drop(udp.port, 100);
  const teacher = await BrowserParticipant.join(browser, server, 'ice-tcp', 'teacher', { audio: false });
  const student = await BrowserParticipant.join(browser, server, 'ice-tcp', 'student', { video: false, audio: false });
  people.push(teacher, student);
  await eventually(() => student.inbound(), (s) => decodedVideo(s).length >= 1, 60_000, 'the student decodes the teacher\'s video over TCP');
  const teacherPairs = await eventually(() => teacher.selectedRemoteCandidates(), (pairs) => pairs.length === 2, 10_000, 'teacher connected twice');
  const studentPairs = await eventually(() => student.selectedRemoteCandidates(), (pairs) => pairs.length === 1, 10_000, 'student connected');
  for (const pair of [...teacherPairs, ...studentPairs]) expect(pair).toEqual({ port: tcp.port, protocol: 'tcp' });
  expect(tcp.accepted).toBeGreaterThanOrEqual(3);
  for (const p of people) await p.leave();
  await waitUntil(() => server.sfu.rooms.size === 0, 10_000, 'room closed');
  await waitUntil(() => udp.dump().sessions === 0, 10_000, 'every connection off the ports');
  expect(udp.dump()).toEqual({ sessions: 0, ufrags: [], addresses: [] });
  // A connection that never sends a binding request is closed after 10 s at the latest.
  await waitUntil(() => tcp.pendingCount === 0, 12_000, 'no TCP connection waiting for its first frame');
});
