import { afterAll, afterEach, beforeAll, expect, test } from 'vitest';
import { MediaStreamTrack, RtpHeader, RtpPacket, type RTCPeerConnection } from 'werift';
import type { RunningServer } from '../../server/app.js';
import { closePeerConnection, createPeerConnection } from '../../sfu/peer/peer-factory.js';
import { sfuCodecs } from '../../sfu/peer/media-capabilities.js';
import { defaultSfuOptions } from '../../sfu/sfu-options.js';
import { Bot, waitUntil } from '../helpers/bot.js';
import { metricTotal, startTestServer } from '../helpers/server.js';
import { joinRoom, type SignalingClient } from '../helpers/signaling-client.js';

/*
 * A werift publisher whose video packets are lost on the way in to the SFU: chosen first transmissions are
 * encrypted (so SRTP state moves on as if sent) and kept in werift's retransmission cache, but never reach the
 * socket; its RTX retransmissions go out, unless the test drops those too. The SFU must find the gaps, NACK
 * them, and forward what comes back over RTX to a werift subscriber.
 */

const PACKETS_PER_FRAME = 5;
const FRAME_MS = 33;

let server: RunningServer;
const cleanups: (() => Promise<void>)[] = [];
beforeAll(async () => {
  server = await startTestServer();
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  await waitUntil(() => server.sfu.rooms.size === 0, 5000, 'rooms to empty');
});
afterAll(async () => {
  await server?.close();
});

const metric = (name: string) => metricTotal(server, name);

/**
 * No NACK timer is left running once nothing is missing. Polled, because a tick may be in flight; 2 s is more than
 * `maxAgeMs` (1.5 s), after which any loss is given up and its timer stopped.
 */
async function expectNoNackTimer(): Promise<void> {
  let running = -1;
  const deadline = performance.now() + 2000;
  while (performance.now() < deadline && (running = await metric('tsfu_sfu_publisher_nack_timers')) !== 0) await new Promise((r) => setTimeout(r, 20));
  expect(running).toBe(0);
}

interface LossyPublisher {
  pc: RTCPeerConnection;
  signaling: SignalingClient;
  /** Original sequence numbers whose first transmission was dropped. */
  dropped: number[];
  /** RTX retransmissions dropped, by the original sequence number they carried. */
  droppedRetransmissions: number[];
  retransmitted: () => number;
  keyframeRequests: number;
  /** Sequence number of the next packet the publisher will send. */
  next: () => number;
  sending: boolean;
}

/**
 * Publishes VP8 (5 packets a frame, 30 frames/s) from `firstSequenceNumber`; each packet's payload carries its
 * original sequence number at bytes 2–3, so the subscriber can tell which ones it got whatever the SFU renumbers.
 */
async function publishLossy(
  room: string,
  firstSequenceNumber: number,
  dropFirst: (seq: number) => boolean,
  dropRetransmission: (seq: number, attempt: number) => boolean,
): Promise<LossyPublisher> {
  const { client: signaling } = await joinRoom(server.signalingUrl, room, 'alice');
  const pc = createPeerConnection({ ...defaultSfuOptions, portMin: 50000, portMax: 59999 });
  let timer: NodeJS.Timeout | undefined;
  cleanups.push(async () => {
    publisher.sending = false;
    clearInterval(timer);
    signaling.close();
    await closePeerConnection(pc);
  });
  pc.onIceCandidate.subscribe((candidate) => {
    if (candidate) signaling.send({ type: 'trickle', target: 'publisher', candidate: candidate.toJSON() });
  });
  signaling.socket.on('message', (raw) => {
    const message = JSON.parse(raw.toString()) as { type: string; target?: string; candidate?: never };
    if (message.type === 'trickle' && message.target === 'publisher') void pc.addIceCandidate(message.candidate!).catch(() => undefined);
  });
  const track = new MediaStreamTrack({ kind: 'video' });
  const transceiver = pc.addTransceiver(track, { direction: 'sendonly' });
  transceiver.setCodecPreferences(sfuCodecs().video.filter((c) => c.mimeType === 'video/VP8' || c.parameters === 'apt=96'));
  let forceKeyframe = false;
  const publisher: LossyPublisher = {
    pc,
    signaling,
    dropped: [],
    droppedRetransmissions: [],
    retransmitted: () => (transceiver.sender as unknown as { retransmittedPacketsSent: number }).retransmittedPacketsSent,
    keyframeRequests: 0,
    next: () => sequenceNumber,
    sending: true,
  };
  transceiver.sender.onPictureLossIndication.subscribe(() => {
    publisher.keyframeRequests++;
    forceKeyframe = true;
  });
  await pc.setLocalDescription(await pc.createOffer());
  // The offer carries the candidate (no trickle): werift's ICE agent fails at once when it starts checking with
  // no remote candidate yet (ice.js `connect()`: an empty check list counts as failed), and this test is not
  // about that race.
  await waitUntil(() => pc.iceGatheringState === 'complete', 5000, 'publisher ICE gathering');
  signaling.send({ type: 'publishOffer', sdp: pc.localDescription!.sdp, tracks: [{ mid: transceiver.mid!, source: 'camera' }] });
  const answer = await Promise.race([
    signaling.waitFor('publishAnswer'),
    signaling.waitFor('error').then((error) => Promise.reject(new Error(`publishOffer refused: ${JSON.stringify(error)}`))),
  ]);
  await pc.setRemoteDescription({ type: 'answer', sdp: answer.sdp });
  await waitUntil(() => pc.connectionState === 'connected', 10_000, 'publisher connected');

  // werift (0.25.2) internals: the sender hands every RTP packet, first transmissions and RTX alike, to
  // `dtls.sendRtp(payload, header)`, which encrypts it with `dtls.srtp` and sends it.
  const dtls = transceiver.sender.dtlsTransport as unknown as {
    sendRtp(payload: Buffer, header: RtpHeader): Promise<number>;
    srtp: { encrypt(payload: Buffer, header: RtpHeader): Buffer };
  };
  const send = dtls.sendRtp.bind(dtls);
  const mediaSsrc = transceiver.sender.ssrc;
  const rtxSsrc = transceiver.sender.rtxSsrc;
  const attempts = new Map<number, number>();
  dtls.sendRtp = async (payload, header) => {
    let drop = false;
    if (header.ssrc === mediaSsrc && dropFirst(header.sequenceNumber)) {
      drop = true;
      publisher.dropped.push(header.sequenceNumber);
    } else if (header.ssrc === rtxSsrc && payload.length >= 2) {
      const original = payload.readUInt16BE(0); // RFC 4588 §4: the OSN leads the RTX payload
      const attempt = (attempts.get(original) ?? 0) + 1;
      attempts.set(original, attempt);
      if (dropRetransmission(original, attempt)) {
        drop = true;
        publisher.droppedRetransmissions.push(original);
      }
    }
    if (!drop) return send(payload, header);
    dtls.srtp.encrypt(payload, header); // the SRTP context moves on as if the packet had gone out
    return 0;
  };

  let sequenceNumber = firstSequenceNumber & 0xffff;
  let timestamp = 1000;
  let frame = 0;
  timer = setInterval(() => {
    if (!publisher.sending) return;
    const keyframe = frame % 60 === 0 || forceKeyframe;
    forceKeyframe = false;
    for (let i = 0; i < PACKETS_PER_FRAME; i++) {
      const payload = Buffer.alloc(200, 0x55);
      payload[0] = i === 0 ? 0x10 : 0x00; // VP8 descriptor: S bit on the first packet (RFC 7741 §4.2)
      payload[1] = keyframe ? 0x00 : 0x01; // P bit: 0 = key frame (§4.3)
      payload.writeUInt16BE(sequenceNumber, 2);
      track.writeRtp(new RtpPacket(new RtpHeader({ payloadType: 96, sequenceNumber, timestamp, marker: i === PACKETS_PER_FRAME - 1 }), payload));
      sequenceNumber = (sequenceNumber + 1) & 0xffff;
    }
    timestamp = (timestamp + 3000) >>> 0;
    frame++;
  }, FRAME_MS);
  return publisher;
}

/** Joins a werift subscriber that records the original sequence number of every video packet it receives. */
async function subscribe(room: string): Promise<{ bot: Bot; received: Set<number> }> {
  const bot = await Bot.join(server.signalingUrl, room, 'bob');
  cleanups.push(() => bot.close());
  const received = new Set<number>();
  bot.subscriber.onTrack.subscribe((track) => {
    track.onReceiveRtp.subscribe((packet) => {
      if (packet.payload.length >= 4) received.add(packet.payload.readUInt16BE(2));
    });
  });
  return { bot, received };
}

/** The 16-bit sequence numbers from `first` for `count` packets. */
const span = (first: number, count: number) => Array.from({ length: count }, (_, i) => (first + i) & 0xffff);

test('packets lost from the publisher, across the sequence-number wrap, are NACKed, retransmitted and forwarded', async () => {
  const room = 'publisher-loss';
  const { received } = await subscribe(room);
  const nacksBefore = await metric('tsfu_sfu_publisher_nacks_sent_total');
  const recoveredBefore = await metric('tsfu_sfu_publisher_lost_packets_total{result="recovered"}');
  // 1,000 packets from 65,036: the wrap comes after 500. Lost: one packet in 20 throughout, a burst of four
  // across the wrap (65534, 65535, 0, 1), and the first retransmission of 65535 as well.
  const start = 65_036;
  const burst = new Set([65_534, 65_535, 0, 1]);
  let lossOn = true;
  const publisher = await publishLossy(room, start, (seq) => lossOn && (burst.has(seq) || seq % 20 === 7), (seq, attempt) => seq === 65_535 && attempt === 1);
  const end = (start + 1000) & 0xffff;
  await waitUntil(() => ((publisher.next() - start) & 0xffff) >= 1000, 30_000, 'the publisher to send 1,000 packets');
  lossOn = false;

  // Everything from the subscriber's first packet (a key frame) on arrives, the dropped packets included.
  const firstReceived = span(start, 1000).find((seq) => received.has(seq))!;
  const window = span(firstReceived, (end - firstReceived) & 0xffff);
  const missing = () => window.filter((seq) => !received.has(seq));
  await waitUntil(() => missing().length === 0, 10_000, 'every packet to reach the subscriber').catch(() => undefined);
  expect(missing()).toEqual([]);
  expect(window.length).toBeGreaterThan(800); // the subscriber started within the first key-frame interval
  const droppedInWindow = publisher.dropped.filter((seq) => window.includes(seq)).length;
  expect(droppedInWindow).toBeGreaterThanOrEqual(40);
  for (const seq of burst) expect(received.has(seq)).toBe(true);
  expect(publisher.droppedRetransmissions).toEqual([65_535]); // asked for again, and delivered the second time

  expect(await metric('tsfu_sfu_publisher_nacks_sent_total')).toBeGreaterThan(nacksBefore);
  expect(await metric('tsfu_sfu_publisher_lost_packets_total{result="recovered"}')).toBeGreaterThanOrEqual(recoveredBefore + droppedInWindow);
  expect(publisher.retransmitted()).toBeGreaterThanOrEqual(droppedInWindow);
  // Nothing given up, so no key frame was asked for because of loss.
  expect(await metric('tsfu_sfu_plis_sent_total{reason="loss"}')).toBe(0);
  // The loss has stopped and media still flows: no NACK timer stays running.
  await waitUntil(() => received.has((publisher.next() - 10) & 0xffff), 5000, 'media after the loss');
  await expectNoNackTimer();
});

test('a packet the publisher never retransmits is given up and a key frame is asked for; the timer then stops', async () => {
  const room = 'publisher-loss-unrecovered';
  const { received } = await subscribe(room);
  const unrecoveredBefore = await metric('tsfu_sfu_publisher_lost_packets_total{result="unrecovered"}');
  // The loss comes ~2 s in, well after the subscription's own key-frame request (pliMinIntervalMs apart).
  const start = 65_236;
  const lost = 65_535; // its first transmission and every retransmission are dropped
  const publisher = await publishLossy(room, start, (seq) => seq === lost, (seq) => seq === lost);
  await waitUntil(() => received.has((lost - 20) & 0xffff), 15_000, 'the subscriber to receive up to the loss');
  const requestsBeforeLoss = publisher.keyframeRequests;
  const lossPlis = () => metric('tsfu_sfu_plis_sent_total{reason="loss"}');
  const deadline = performance.now() + 5000;
  while ((await lossPlis()) === 0 && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  expect(await lossPlis()).toBe(1);
  await waitUntil(() => publisher.keyframeRequests > requestsBeforeLoss, 5000, 'the key-frame request to reach the publisher');
  expect(received.has(lost)).toBe(false);
  expect(publisher.droppedRetransmissions.length).toBeGreaterThanOrEqual(2); // asked for more than once
  expect(await metric('tsfu_sfu_publisher_lost_packets_total{result="unrecovered"}')).toBe(unrecoveredBefore + 1);
  await waitUntil(() => received.has((publisher.next() - 10) & 0xffff), 5000, 'media after the loss');
  await expectNoNackTimer();
});
