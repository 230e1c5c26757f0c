import { expect, test } from 'vitest';
import type { RunningServer } from '../../server/app.js';
import { defaultConfig } from '../../server/config.js';
import type { LaunchedChromium } from '../helpers/chromium.js';
import { useBrowserSuite } from '../helpers/browser-suite.js';
import { BrowserParticipant, eventually } from '../helpers/browser-participant.js';
import { metricTotal } from '../helpers/server.js';

let server: RunningServer;
let browser: LaunchedChromium;
const people: BrowserParticipant[] = [];

// The SFU is on 127.0.0.1, which the TURN server refuses to relay to unless an operator opens it.
const turn = { ...defaultConfig().turn, server: { udpPort: 0, tcpPort: 0, relayPortRange: [30000, 39999] as [number, number], allowedPeerCidrs: ['127.0.0.1/32'] } };
useBrowserSuite(
  people,
  (s, b) => {
    server = s;
    browser = b;
  },
  { turn },
);

test('browsers restricted to relay candidates reach the SFU through our TURN server and decode video', async () => {
  const relayOnly = { rtcConfig: { iceTransportPolicy: 'relay' as const } };
  const publisher = await BrowserParticipant.join(browser, server, 'relay', 'far-away-teacher', { ...relayOnly, audio: false });
  people.push(publisher);
  const viewer = await BrowserParticipant.join(browser, server, 'relay', 'far-away-student', { ...relayOnly, video: false, audio: false });
  people.push(viewer);
  const video = await eventually(
    async () => (await viewer.inbound()).find((s) => s.kind === 'video'),
    (s) => s !== undefined && s.framesDecoded > 30,
    30_000,
    'video decoded over TURN',
  );
  expect(video!.framesDecoded).toBeGreaterThan(30);
  // Every connected peer connection of both browsers uses a relayed local candidate.
  for (const p of [publisher, viewer]) {
    const types = await p.selectedLocalCandidateTypes();
    expect(types.length).toBeGreaterThan(0);
    expect(new Set(types)).toEqual(new Set(['relay']));
  }
  // The browsers told the server so (clientMetrics): the dashboard's TURN share counts these.
  const relayed = await eventually(() => metricTotal(server, 'tsfu_client_connections_total', 'candidate_type="relay"'), (n) => n >= 3, 10_000, 'relayed connections reported');
  expect(relayed).toBe(3); // the publisher's two connections and the viewer's subscriber
  expect(await metricTotal(server, 'tsfu_client_connections_total', 'candidate_type="host"')).toBe(0);
  const stats = server.turn!.server.stats();
  expect(stats.allocations).toBeGreaterThanOrEqual(3); // publisher: 2 connections, viewer: 1 at least
  expect(stats.packetsToPeer).toBeGreaterThan(100);
  expect(stats.packetsToClient).toBeGreaterThan(100);
});
