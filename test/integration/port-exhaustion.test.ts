import { afterAll, beforeAll, expect, test } from 'vitest';
import type { RunningServer } from '../../server/app.js';
import { Bot } from '../helpers/bot.js';
import { startTestServer } from '../helpers/server.js';
import { SignalingClient, testToken } from '../helpers/signaling-client.js';

// Two media ports, above Linux's ephemeral range (so no OS-picked port takes one): two participants fill them.
let server: RunningServer;
const bots: Bot[] = [];
beforeAll(async () => {
  server = await startTestServer({ rtc: { portMin: 61001, portMax: 61002 } });
});
afterAll(async () => {
  for (const bot of bots) await bot.close();
  await server?.close();
});

test('with every media port taken, a join is refused with LIMIT_EXCEEDED and leaves no empty room; a publish is refused and the participant stays', async () => {
  bots.push(await Bot.join(server.signalingUrl, 'ports-a', 'alice'));
  bots.push(await Bot.join(server.signalingUrl, 'ports-a', 'bob'));

  const carol = await SignalingClient.connect(server.signalingUrl);
  carol.send({ type: 'join', room: 'ports-b', token: await testToken({ room: 'ports-b', identity: 'carol' }) });
  const refused = await carol.waitFor('error');
  expect(refused).toMatchObject({ code: 'LIMIT_EXCEEDED', requestType: 'join' });
  expect(server.sfu.findRoom('ports-b')).toBeUndefined();
  carol.close();

  // alice's first publish needs a third port: refused, and alice (a viewer now) is not closed for it.
  const before = bots[0].signaling.messages.length;
  const publishing = bots[0].publish({ audio: false }).catch((error: unknown) => error);
  const error = await bots[0].signaling.waitFor('error', (m) => bots[0].signaling.messages.indexOf(m) >= before);
  expect(error).toMatchObject({ code: 'LIMIT_EXCEEDED', requestType: 'publishOffer' });
  void publishing;
  bots[0].signaling.send({ type: 'ping', id: 7 });
  await bots[0].signaling.waitFor('pong');
  expect(server.sfu.findRoom('ports-a')?.participants.size).toBe(2);
});
