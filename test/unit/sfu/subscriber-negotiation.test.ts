import { handDrivenSubscriber } from '../../helpers/hand-driven-subscriber.js';
import { Registry } from 'prom-client';
import { afterEach, expect, test } from 'vitest';
import type { RTCRtpReceiver } from 'werift';
import { PublishedTrack } from '../../../sfu/media/published-track.js';
import { createSfuMetrics } from '../../../sfu/sfu-metrics.js';
import { defaultSfuOptions } from '../../../sfu/sfu-options.js';
import { SubscriberPeer } from '../../../sfu/peer/subscriber-peer.js';
import { waitUntil } from '../../helpers/bot.js';

const options = { ...defaultSfuOptions, portMin: 43000, portMax: 43999 };
const none = () => 0;
const metrics = createSfuMetrics(new Registry(), { rooms: none, participants: none, publishedTracks: none, subscribedTracks: none, peerConnections: none });
const peers: SubscriberPeer[] = [];

afterEach(() => {
  for (const peer of peers.splice(0)) peer.close();
});

/** A subscriber connection whose queue turns the test gives by hand (runNegotiation). */
function subscriber() {
  const made = handDrivenSubscriber(options, metrics);
  peers.push(made.peer);
  return made;
}

function track(i: number): PublishedTrack {
  const receiver = { onRtcp: { subscribe: () => ({ unSubscribe: () => undefined }) } };
  return new PublishedTrack({
    id: `TR_${i}`,
    kind: i % 2 ? 'audio' : 'video',
    source: i % 2 ? 'microphone' : 'camera',
    mid: String(i),
    publisherIdentity: `publisher ${i >> 1}`,
    receiver: receiver as unknown as RTCRtpReceiver,
    extensions: {},
    packetCacheSize: 64,
    pliMinIntervalMs: 500,
    metrics,
  });
}

test('a subscriber whose queue turn comes while a few subscriptions still wait offers them in that turn', async () => {
  const { peer, offers } = subscriber();
  // More subscriptions in one turn than down tracks are made per turn: some wait for a later turn.
  for (let i = 0; i < 20; i++) peer.addTrack(track(i), `PA_${i >> 1}`);
  expect(peer.downTracks.size).toBeLessThan(20);
  // Its turn comes now. Dropping the turn here sent it to the back of the queue, and in a room with joins every
  // 400 ms the same happened at its next turn: one subscriber went 15 s without an offer.
  await peer.runNegotiation();
  expect(offers).toHaveLength(1);
  expect(Object.values(offers[0].tracks).sort()).toEqual(Array.from({ length: 20 }, (_, i) => `TR_${i}`).sort());
});

test("a joiner's whole room (more than a turn's worth of subscriptions) waits until every down track is made", async () => {
  const { peer, offers } = subscriber();
  for (let i = 0; i < 60; i++) peer.addTrack(track(i), `PA_${i >> 1}`);
  await peer.runNegotiation();
  expect(offers).toHaveLength(0);
  // The waiting ones are made over the next turns; the last of them asks for the offer again.
  await waitUntil(() => peer.downTracks.size === 60, 5000, 'every down track made');
  await peer.runNegotiation();
  expect(offers).toHaveLength(1);
  expect(Object.keys(offers[0].tracks)).toHaveLength(60);
});
