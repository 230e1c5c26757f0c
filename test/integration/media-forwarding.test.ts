import { afterAll, afterEach, beforeAll, expect, test } from 'vitest';
import type { RunningServer } from '../../server/app.js';
import { Bot, waitUntil } from '../helpers/bot.js';
import { metricTotal, startTestServer } from '../helpers/server.js';

let server: RunningServer;
const bots: Bot[] = [];
beforeAll(async () => {
  server = await startTestServer();
});
afterEach(async () => {
  for (const bot of bots.splice(0)) await bot.close();
  await waitUntil(() => server.sfu.rooms.size === 0, 5000, 'rooms to empty');
});
afterAll(async () => {
  await server?.close();
});

const metric = (name: string) => metricTotal(server, name);

test('H264 is forwarded as H264: subscribers receive the publisher codec', async () => {
  const alice = await Bot.join(server.signalingUrl, 'h264', 'alice');
  bots.push(alice);
  const [videoId] = await alice.publish({ audio: false, videoCodec: 'H264' });
  const bob = await Bot.join(server.signalingUrl, 'h264', 'bob');
  bots.push(bob);
  await bob.receivesTracks(1, 20);
  const video = bob.received.get(videoId)!;
  // Every packet carries the payload type bob's connection negotiated for H264.
  const h264PayloadType = Number(/a=rtpmap:(\d+) H264\/90000/.exec(bob.subscriber.remoteDescription!.sdp)![1]);
  expect(video.payloadTypes).toEqual(new Set([h264PayloadType]));
  expect(server.sfu.room('h264').participant('alice')!.publishedTracks.get(videoId)!.info.mimeType).toBe('video/H264');
});

test('a subscriber that joins late makes the SFU ask the publisher for a key frame at once', async () => {
  const alice = await Bot.join(server.signalingUrl, 'pli', 'alice');
  bots.push(alice);
  await alice.publish({ audio: false });
  await new Promise((r) => setTimeout(r, 300));
  const requestsBefore = alice.keyframeRequests;
  const plisBefore = await metric('tsfu_sfu_plis_sent_total{reason="subscribe"}');
  const bob = await Bot.join(server.signalingUrl, 'pli', 'bob');
  bots.push(bob);
  const joinedAt = performance.now();
  await bob.receivesTracks(1, 1, 5000);
  // The bot's own key frames come every 2 s; the first packet arriving well before that is the requested one.
  expect(alice.keyframeRequests).toBeGreaterThan(requestsBefore);
  expect(await metric('tsfu_sfu_plis_sent_total{reason="subscribe"}')).toBeGreaterThan(plisBefore);
  const firstVideo = [...bob.received.values()][0];
  expect(firstVideo.firstPacketAt! - joinedAt).toBeLessThan(5000);
});

test('packets a subscriber loses are retransmitted from the cache over RTX', async () => {
  const alice = await Bot.join(server.signalingUrl, 'nack', 'alice');
  bots.push(alice);
  await alice.publish({ audio: false });
  const bob = await Bot.join(server.signalingUrl, 'nack', 'bob', undefined, { inboundLossPercent: 10 });
  bots.push(bob);
  await bob.receivesTracks(1, 50);
  const nacked = async () => (await metric('tsfu_sfu_nacks_received_total')) > 0 && (await metric('tsfu_sfu_retransmitted_packets_total')) > 0;
  const deadline = performance.now() + 5000;
  while (!(await nacked()) && performance.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  expect(await metric('tsfu_sfu_nacks_received_total')).toBeGreaterThan(0);
  expect(await metric('tsfu_sfu_retransmitted_packets_total')).toBeGreaterThan(0);
});

test("subscribers' key-frame requests reach the publisher, at most one per interval", async () => {
  const alice = await Bot.join(server.signalingUrl, 'sub-pli', 'alice');
  bots.push(alice);
  await alice.publish({ audio: false });
  const bob = await Bot.join(server.signalingUrl, 'sub-pli', 'bob');
  bots.push(bob);
  await bob.receivesTracks(1, 20);
  await new Promise((r) => setTimeout(r, 600)); // past the PLI interval of the subscribe-time request
  const receiver = bob.subscriber.getTransceivers().find((t) => t.kind === 'video')!.receiver;
  const ssrc = receiver.tracks[0].ssrc!;
  const forwardedBefore = await metric('tsfu_sfu_plis_sent_total{reason="subscriber-pli"}');
  const requestsBefore = alice.keyframeRequests;
  for (let i = 0; i < 10; i++) await receiver.sendRtcpPLI(ssrc);
  await waitUntil(() => alice.keyframeRequests > requestsBefore, 5000, 'PLI at the publisher');
  await new Promise((r) => setTimeout(r, 200));
  // Ten PLIs sent back to back make one request upstream (pliMinIntervalMs = 500; two if the burst straddled it).
  const forwarded = (await metric('tsfu_sfu_plis_sent_total{reason="subscriber-pli"}')) - forwardedBefore;
  expect(forwarded).toBeGreaterThanOrEqual(1);
  expect(forwarded).toBeLessThanOrEqual(2);
  expect(alice.keyframeRequests - requestsBefore).toBe(forwarded);
});
