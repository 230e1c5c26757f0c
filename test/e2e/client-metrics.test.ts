import { expect, test } from 'vitest';
import type { RunningServer } from '../../server/app.js';
import type { LaunchedChromium } from '../helpers/chromium.js';
import { useBrowserSuite } from '../helpers/browser-suite.js';
import { BrowserParticipant, eventually } from '../helpers/browser-participant.js';
import { metricTotal } from '../helpers/server.js';

let server: RunningServer;
let browser: LaunchedChromium;
const people: BrowserParticipant[] = [];

useBrowserSuite(people, (s, b) => {
  server = s;
  browser = b;
});

test("a browser's own connect times reach the server's histograms: WebSocket open, ICE connect of both connections, host candidates on loopback", async () => {
  const student = await BrowserParticipant.join(browser, server, 'metrics-e2e', 'student', { width: 320, height: 240 });
  people.push(student);
  const metric = (name: string, labels?: string) => metricTotal(server, name, labels);
  // The publisher connection connects after the camera's offer is answered: wait for both reports.
  await eventually(
    () => Promise.all([metric('tsfu_client_ice_connect_seconds_count', 'peer="subscriber"'), metric('tsfu_client_ice_connect_seconds_count', 'peer="publisher"')]),
    ([subscriber, publisher]) => subscriber >= 1 && publisher >= 1,
    20_000,
    'clientMetrics of both peer connections',
  );
  expect(await metric('tsfu_client_websocket_connect_seconds_count')).toBe(1);
  // Measured on loopback: well under the join timeout, and more than nothing.
  const wsSeconds = await metric('tsfu_client_websocket_connect_seconds_sum');
  expect(wsSeconds).toBeGreaterThan(0);
  expect(wsSeconds).toBeLessThan(5);
  for (const peer of ['subscriber', 'publisher']) {
    expect(await metric('tsfu_client_ice_connect_seconds_count', `peer="${peer}"`)).toBe(1);
    const iceSeconds = await metric('tsfu_client_ice_connect_seconds_sum', `peer="${peer}"`);
    expect(iceSeconds).toBeGreaterThan(0);
    expect(iceSeconds).toBeLessThan(10);
    expect(await metric('tsfu_client_connections_total', `peer="${peer}",candidate_type="host"`)).toBe(1);
  }
  expect(await metric('tsfu_client_connections_total', 'candidate_type="relay"')).toBe(0);
  // What the page's own stats say is what the server counted.
  expect(new Set(await student.selectedLocalCandidateTypes())).toEqual(new Set(['host']));
});
