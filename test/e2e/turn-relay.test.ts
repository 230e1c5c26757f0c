import { afterAll, beforeAll, expect, test } from 'vitest';
import type { RunningServer } from '../../server/app.js';
import { defaultConfig } from '../../server/config.js';
import { launchChromium, type LaunchedChromium } from '../helpers/chromium.js';
import { assertClientBuilt, BrowserParticipant, eventually } from '../helpers/browser-participant.js';
import { startTestServer } from '../helpers/server.js';

let server: RunningServer;
let browser: LaunchedChromium;
const people: BrowserParticipant[] = [];

beforeAll(async () => {
  assertClientBuilt();
  server = await startTestServer({
    // The SFU is on 127.0.0.1, which the TURN server refuses to relay to unless an operator opens it.
    turn: { ...defaultConfig().turn, server: { udpPort: 0, tcpPort: 0, relayPortRange: [30000, 39999], allowedPeerCidrs: ['127.0.0.1/32'] } },
  });
  browser = await launchChromium();
});
afterAll(async () => {
  for (const p of people) await p.close();
  await browser?.close();
  await server?.close();
});

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
  const stats = server.turn!.server.stats();
  expect(stats.allocations).toBeGreaterThanOrEqual(3); // publisher: 2 connections, viewer: 1 at least
  expect(stats.packetsToPeer).toBeGreaterThan(100);
  expect(stats.packetsToClient).toBeGreaterThan(100);
});
