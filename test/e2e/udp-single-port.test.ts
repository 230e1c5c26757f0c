import { expect, test } from 'vitest';
import type { RunningServer } from '../../server/app.js';
import { defaultConfig } from '../../server/config.js';
import type { LaunchedChromium } from '../helpers/chromium.js';
import { useBrowserSuite } from '../helpers/browser-suite.js';
import { BrowserParticipant, eventually, type InboundSnapshot } from '../helpers/browser-participant.js';
import { waitUntil } from '../helpers/bot.js';

let server: RunningServer;
let browser: LaunchedChromium;
const people: BrowserParticipant[] = [];

useBrowserSuite(
  people,
  (s, b) => {
    server = s;
    browser = b;
  },
  // The SFU is on 127.0.0.1, which the TURN server refuses to relay to unless an operator opens it.
  { rtc: { udpPort: 0 }, turn: { ...defaultConfig().turn, server: { udpPort: 0, tcpPort: 0, relayPortRange: [30000, 39999], allowedPeerCidrs: ['127.0.0.1/32'] } } },
);

const decodedVideo = (stats: InboundSnapshot[]) => stats.filter((s) => s.kind === 'video' && s.framesDecoded > 30);
const audioFlowing = (stats: InboundSnapshot[]) => stats.filter((s) => s.kind === 'audio' && s.packetsReceived > 50);

test('browsers publish and receive through the node\'s one UDP port', async () => {
  const mux = server.udpMux!;
  for (const identity of ['teacher', 'student']) people.push(await BrowserParticipant.join(browser, server, 'single-port-e2e', identity));
  for (const p of people) {
    await eventually(() => p.inbound(), (s) => decodedVideo(s).length >= 1 && audioFlowing(s).length >= 1, 30_000, `${p.identity} decodes the other's media`);
    // Both connections of each browser (publisher and subscriber) are paired with the one port.
    const pairs = await eventually(() => p.selectedRemoteCandidates(), (pairs) => pairs.length === 2, 10_000, `${p.identity} connected twice`);
    expect(pairs).toEqual([
      { port: mux.port, protocol: 'udp' },
      { port: mux.port, protocol: 'udp' },
    ]);
  }
  expect(mux.dump().sessions).toBe(4);
  expect(mux.dropped.bad_integrity).toBe(0);
  for (const p of people) await p.leave();
  await waitUntil(() => server.sfu.rooms.size === 0, 10_000, 'room closed');
  await waitUntil(() => mux.dump().sessions === 0, 10_000, 'every connection off the port');
  expect(mux.dump()).toEqual({ sessions: 0, ufrags: [], addresses: [] });
});

test('relay-only browsers reach the one UDP port through our TURN server', async () => {
  const mux = server.udpMux!;
  const relayOnly = { rtcConfig: { iceTransportPolicy: 'relay' as const } };
  const publisher = await BrowserParticipant.join(browser, server, 'single-port-relay', 'far-teacher', { ...relayOnly, audio: false });
  const viewer = await BrowserParticipant.join(browser, server, 'single-port-relay', 'far-student', { ...relayOnly, video: false, audio: false });
  people.push(publisher, viewer);
  await eventually(() => viewer.inbound(), (s) => decodedVideo(s).length >= 1, 30_000, 'video decoded over TURN');
  for (const p of [publisher, viewer]) {
    expect(new Set(await p.selectedLocalCandidateTypes())).toEqual(new Set(['relay']));
    for (const pair of await p.selectedRemoteCandidates()) expect(pair).toEqual({ port: mux.port, protocol: 'udp' });
  }
  // The teacher's two connections and the student's one, reached from relayed addresses.
  expect(mux.dump().sessions).toBe(3);
  for (const p of [publisher, viewer]) await p.leave();
  await waitUntil(() => mux.dump().sessions === 0, 10_000, 'every connection off the port');
  expect(mux.dump()).toEqual({ sessions: 0, ufrags: [], addresses: [] });
});
