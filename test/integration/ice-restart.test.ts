import { afterAll, afterEach, beforeAll, expect, test } from 'vitest';
import type { RunningServer } from '../../server/app.js';
import { iceCredentials } from '../../sfu/peer/sdp-sections.js';
import { Bot, waitUntil } from '../helpers/bot.js';
import { metricTotal, startTestServer } from '../helpers/server.js';

let server: RunningServer;
const bots: Bot[] = [];
beforeAll(async () => {
  server = await startTestServer({ rtc: { iceRestartBurst: 3, iceRestartIntervalMs: 60_000 } });
});
afterEach(async () => {
  for (const bot of bots.splice(0)) await bot.close();
  await waitUntil(() => server.sfu.rooms.size === 0, 5000, 'rooms to empty');
});
afterAll(async () => {
  await server?.close();
});

const metric = (name: string, labels?: string) => metricTotal(server, name, labels);
/** ICE restarts that reached ICE connected again, for one kind of peer connection. */
const completed = (peer: string) => metric('tsfu_sfu_ice_restart_seconds_count', `peer="${peer}"`);

async function join(room: string, identity: string): Promise<Bot> {
  const bot = await Bot.join(server.signalingUrl, room, identity);
  bots.push(bot);
  return bot;
}

/** Resolves once each of `trackIds` has delivered `more` packets to `bot` beyond what it had. */
async function packetsKeepComing(bot: Bot, trackIds: readonly string[], more: number): Promise<void> {
  const packets = (id: string) => bot.received.get(id)?.packets ?? 0;
  const before = new Map(trackIds.map((id) => [id, packets(id)]));
  await waitUntil(() => trackIds.every((id) => packets(id) >= before.get(id)! + more), 5000, `${more} more packets on ${trackIds.join(', ')} at ${bot.identity}`);
}

test('ICE restarts of the publisher and the subscriber connection keep media and data flowing, with no new track or participant', async () => {
  const alice = await join('restart-both', 'alice');
  const trackIds = await alice.publish();
  const bob = await join('restart-both', 'bob');
  await bob.receivesTracks(2, 20);
  await Promise.all([alice.dataReady(), bob.dataReady()]);
  // Someone who came and went leaves a stopped m-line in bob's offers: restarts must work beside it.
  const carl = await join('restart-both', 'carl');
  const [carlsTrack] = await carl.publish({ video: false });
  await bob.receivesTracks(3, 5);
  await carl.close();
  await waitUntil(() => bob.answersSent === bob.offersReceived && !Object.values(bob.answeredTracks).includes(carlsTrack), 5000, "carl's m-line stopped");
  const publisherIce = iceCredentials(alice.publisher!.remoteDescription!.sdp);
  const subscriberIce = iceCredentials(bob.subscriber.remoteDescription!.sdp);
  const bobDtls = bob.subscriber.dtlsTransports[0];
  const offersBefore = bob.offersReceived;
  const answeredBefore = bob.answeredTracks;
  const seen = { alice: alice.signaling.messages.length, bob: bob.signaling.messages.length };

  await alice.restartPublisherIce();
  bob.requestSubscriberIceRestart();
  await waitUntil(() => bob.offersReceived === offersBefore + 1 && bob.answersSent === bob.offersReceived, 5000, 'the restart offer answered');
  const publisherDone = async () => (await completed('publisher')) >= 1;
  const subscriberDone = async () => (await completed('subscriber')) >= 1;
  const deadline = performance.now() + 5000;
  while (!((await publisherDone()) && (await subscriberDone())) && performance.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  expect(await completed('publisher')).toBe(1);
  expect(await completed('subscriber')).toBe(1);
  expect(await metric('tsfu_sfu_ice_restarts_total', 'peer="publisher"')).toBe(1);
  expect(await metric('tsfu_sfu_ice_restarts_total', 'peer="subscriber"')).toBe(1);

  // New ICE credentials on both connections, and on both sides of them.
  expect(iceCredentials(alice.publisher!.remoteDescription!.sdp)).not.toBe(publisherIce);
  expect(iceCredentials(bob.subscriber.remoteDescription!.sdp)).not.toBe(subscriberIce);
  expect(iceCredentials(bob.subscriber.localDescription!.sdp)).not.toBe(undefined);
  // Media from alice goes on reaching bob over the new pairs; the SRTP keys are those of the DTLS session made at join.
  await packetsKeepComing(bob, trackIds, 30);
  expect(bob.subscriber.dtlsTransports[0]).toBe(bobDtls);
  expect(bobDtls.state).toBe('connected');
  // Data both ways over bob's restarted connection (SCTP over the same DTLS association).
  bob.sendData('after the restart');
  alice.sendData('to bob after the restart');
  await waitUntil(() => alice.data.some((d) => d.text === 'after the restart') && bob.data.some((d) => d.text === 'to bob after the restart'), 5000, 'data after the restart');

  // Nothing changed in the room: the same tracks on the same m-lines, no event about participants or tracks.
  expect([...bob.received.keys()].sort()).toEqual([...trackIds, carlsTrack].sort());
  expect(bob.answeredTracks).toEqual(answeredBefore);
  const roomEvents = ['participantJoined', 'participantLeft', 'trackPublished', 'trackUnpublished', 'error'];
  expect(alice.signaling.messages.slice(seen.alice).filter((m) => roomEvents.includes(m.type))).toEqual([]);
  expect(bob.signaling.messages.slice(seen.bob).filter((m) => roomEvents.includes(m.type))).toEqual([]);
  const restartAnswer = alice.signaling.messages.slice(seen.alice).find((m) => m.type === 'publishAnswer');
  expect(restartAnswer?.tracks).toEqual([]);
  expect(bob.negotiationErrors).toEqual([]);
});

test('a connection restarts ICE at most iceRestartBurst times in a row; the next request is refused with RATE_LIMITED', async () => {
  const carol = await join('restart-limit', 'carol');
  await carol.dataReady();
  const refusedBefore = await metric('tsfu_sfu_ice_restarts_refused_total', 'peer="subscriber"');
  for (let i = 1; i <= 3; i++) {
    const offers = carol.offersReceived;
    carol.requestSubscriberIceRestart();
    await waitUntil(() => carol.offersReceived === offers + 1 && carol.answersSent === carol.offersReceived, 5000, `restart offer ${i} answered`);
    await carol.dataReady(); // still open
  }
  const error = await carol.signaling.expectError({ type: 'iceRestart', target: 'subscriber' });
  expect(error).toMatchObject({ code: 'RATE_LIMITED', requestType: 'iceRestart' });
  expect(await metric('tsfu_sfu_ice_restarts_refused_total', 'peer="subscriber"')).toBe(refusedBefore + 1);
  // The refused request changed nothing: the connection still carries data.
  const dave = await join('restart-limit', 'dave');
  await dave.dataReady();
  dave.sendData('still there?');
  await waitUntil(() => carol.data.some((d) => d.text === 'still there?'), 5000, 'data to carol');
});

test('iceRestart names the subscriber connection only: the publisher restarts with its own offer', async () => {
  const erin = await join('restart-schema', 'erin');
  const error = await erin.signaling.expectError({ type: 'iceRestart', target: 'publisher' });
  expect(error).toMatchObject({ code: 'SCHEMA_VIOLATION', requestType: 'iceRestart' });
});
