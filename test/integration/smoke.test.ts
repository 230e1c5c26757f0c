import { afterAll, beforeAll, expect, test } from 'vitest';
import type { RunningServer } from '../../server/app.js';
import { Bot, waitUntil } from '../helpers/bot.js';
import { startTestServer } from '../helpers/server.js';

let server: RunningServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.close();
});

test('a subscriber receives the publisher video and audio', async () => {
  const alice = await Bot.join(server.signalingUrl, 'r1', 'alice');
  const bob = await Bot.join(server.signalingUrl, 'r1', 'bob');
  const ids = await alice.publish();
  expect(ids).toHaveLength(2);
  await bob.receivesTracks(2, 20);
  await bob.dataReady();
  await alice.dataReady();
  alice.sendData('hello');
  await waitUntil(() => bob.data.length > 0, 5000, 'data');
  expect(bob.data[0]).toMatchObject({ from: 'alice', text: 'hello' });
  await alice.close();
  await bob.close();
  await waitUntil(() => server.sfu.rooms.size === 0, 5000, 'room closed');
});
