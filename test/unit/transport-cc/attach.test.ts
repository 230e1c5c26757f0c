import {
  MediaStreamTrack,
  RTCPeerConnection,
  RTCRtpCodecParameters,
  RTCRtpReceiver,
  RtcpTransportLayerFeedback,
  RtpHeader,
  RtpPacket,
  TransportWideCC,
  useNACK,
  usePLI,
  useSdesMid,
  useTransportWideCC,
  useTWCC,
  type PeerConfig,
  type RtcpPacket,
} from 'werift';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { InvalidStateError } from '../../../sfu/errors.js';
import { attachTransportCc, type TransportCcFeedback } from '../../../sfu/media/transport-cc/attach.js';
import { decodeTransportFeedback } from '../../../sfu/media/transport-cc/feedback-decoder.js';
import { NOT_RECEIVED } from '../../../sfu/media/transport-cc/feedback-types.js';

/**
 * The adapter on real werift peer connections talking over 127.0.0.1: a werift "publisher" sends RTP with
 * transport-wide sequence numbers to the "SFU" side, which runs our feedback in place of werift's. These tests also
 * pin the werift internals the adapter relies on, so an upgrade that changes them fails here.
 */

const LOOPBACK = '127.0.0.1';

function loopbackPeer(): RTCPeerConnection {
  const config: Partial<PeerConfig> = {
    codecs: {
      audio: [new RTCRtpCodecParameters({ mimeType: 'audio/opus', clockRate: 48000, channels: 2, payloadType: 111, rtcpFeedback: [useTWCC()] })],
      video: [new RTCRtpCodecParameters({ mimeType: 'video/VP8', clockRate: 90000, payloadType: 96, rtcpFeedback: [useTWCC(), useNACK(), usePLI()] })],
    },
    headerExtensions: { audio: [useSdesMid(), useTransportWideCC()], video: [useSdesMid(), useTransportWideCC()] },
    bundlePolicy: 'max-bundle',
    iceUseIpv4: false,
    iceUseIpv6: false,
    iceAdditionalHostAddresses: [LOOPBACK],
    iceInterfaceAddresses: { udp4: LOOPBACK },
    iceFilterCandidatePair: (pair) => pair.localCandidate.host === LOOPBACK && pair.remoteCandidate.host === LOOPBACK,
    iceFilterStunResponse: (_message, addr) => addr[0] === LOOPBACK,
  };
  return new RTCPeerConnection(config);
}

async function gathered(pc: RTCPeerConnection): Promise<void> {
  if (pc.iceGatheringState !== 'complete') await pc.iceGatheringStateChange.watch((s) => s === 'complete', 10_000);
}

/** Offer from the publisher, answer from the SFU side, non-trickle. */
async function negotiate(publisher: RTCPeerConnection, sfu: RTCPeerConnection): Promise<void> {
  await publisher.setLocalDescription(await publisher.createOffer());
  await gathered(publisher);
  await sfu.setRemoteDescription(publisher.localDescription!);
  await sfu.setLocalDescription(await sfu.createAnswer());
  await gathered(sfu);
  await publisher.setRemoteDescription(sfu.localDescription!);
}

async function connected(pc: RTCPeerConnection): Promise<void> {
  if (pc.connectionState !== 'connected') await pc.connectionStateChange.watch((s) => s === 'connected', 10_000);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function isTransportFeedback(packet: RtcpPacket): packet is RtcpTransportLayerFeedback & { feedback: TransportWideCC } {
  return packet instanceof RtcpTransportLayerFeedback && packet.feedback instanceof TransportWideCC;
}

/** Captures the transport-wide feedback the SFU side sends, as bytes on the wire (before SRTCP). */
function captureSent(sfu: RTCPeerConnection): Buffer[] {
  const sent: Buffer[] = [];
  for (const dtls of sfu.dtlsTransports) {
    const original = dtls.sendRtcp.bind(dtls);
    dtls.sendRtcp = (packets) => {
      for (const packet of packets) {
        const bytes = packet.serialize();
        if (bytes[1] === 205 && (bytes[0] & 0x1f) === 15) sent.push(bytes);
      }
      return original(packets);
    };
  }
  return sent;
}

/** Sequence numbers reported received, decoded with our decoder (werift's parser ignores status vector chunks). */
function reportedReceived(sent: Buffer[]): Set<number> {
  const seqs = new Set<number>();
  for (const bytes of sent) {
    const { feedback } = decodeTransportFeedback(bytes);
    feedback.receiveDeltas.forEach((delta, i) => {
      if (delta !== NOT_RECEIVED) seqs.add((feedback.baseSequenceNumber + i) & 0xffff);
    });
  }
  return seqs;
}

async function sendRtp(track: MediaStreamTrack, count: number, payloadType: number, firstSeq = 0): Promise<void> {
  for (let i = 0; i < count; i++) {
    const header = new RtpHeader({ payloadType, sequenceNumber: firstSeq + i, timestamp: (firstSeq + i) * 3000, marker: true });
    track.writeRtp(new RtpPacket(header, Buffer.alloc(200, i)));
    await sleep(2);
  }
}

describe('attachTransportCc on a werift peer connection', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  function pair(): { publisher: RTCPeerConnection; sfu: RTCPeerConnection; feedback: TransportCcFeedback; rtcp: TransportWideCC[] } {
    const publisher = loopbackPeer();
    const sfu = loopbackPeer();
    // Attached before negotiation: the adapter must pick up transceivers and transports as they appear.
    const feedback = attachTransportCc(sfu, { intervalMs: 20 });
    cleanups.push(async () => {
      feedback.close();
      await publisher.close();
      await sfu.close();
    });
    const rtcp: TransportWideCC[] = [];
    return { publisher, sfu, feedback, rtcp };
  }

  function collectFeedback(publisher: RTCPeerConnection, into: TransportWideCC[]): void {
    for (const dtls of publisher.dtlsTransports) {
      dtls.onRtcp.subscribe((packet) => {
        if (isTransportFeedback(packet)) into.push(packet.feedback);
      });
    }
  }

  it("werift still exposes what the adapter hooks: RTCRtpReceiver.setupTWCC and receiverTWCC", () => {
    expect(typeof RTCRtpReceiver.prototype.setupTWCC).toBe('function');
    expect(Object.getOwnPropertyNames(RTCRtpReceiver.prototype)).toContain('setupTWCC');
  });

  it('reports every RTP packet of a bundled transport back to the publisher, and werift sends none of its own', async () => {
    const { publisher, sfu, feedback, rtcp } = pair();
    const video = new MediaStreamTrack({ kind: 'video' });
    publisher.addTransceiver(video, { direction: 'sendonly' });
    await negotiate(publisher, sfu);
    await Promise.all([connected(publisher), connected(sfu)]);
    collectFeedback(publisher, rtcp);
    const sent = captureSent(sfu);
    expect(feedback.transportCcExtensionIds.length).toBeGreaterThan(0);

    await sendRtp(video, 60, 96);
    await sleep(150);

    const publisherSsrc = publisher.getSenders()[0].ssrc;
    expect(rtcp.length).toBeGreaterThan(0);
    for (const fb of rtcp) {
      expect(fb.mediaSourceSsrc).toBe(publisherSsrc);
      expect(fb.senderSsrc).toBe(sfu.getReceivers()[0].rtcpSsrc);
    }
    // werift's publisher numbers its packets from 1 on the transport.
    const received = reportedReceived(sent);
    for (let seq = 1; seq <= 60; seq++) expect(received.has(seq), `seq ${seq}`).toBe(true);
    expect(rtcp.length).toBe(sent.length);
    expect(feedback.stats.feedbackPacketsSent).toBe(sent.length);
    expect(feedback.stats.sendFailures).toBe(0);
    // werift's own ReceiverTWCC was never created.
    for (const receiver of sfu.getReceivers()) expect(receiver.receiverTWCC).toBeUndefined();
  });

  it('follows renegotiation: audio added later shares the one transport-wide sequence space', async () => {
    const { publisher, sfu, feedback } = pair();
    const video = new MediaStreamTrack({ kind: 'video' });
    publisher.addTransceiver(video, { direction: 'sendonly' });
    await negotiate(publisher, sfu);
    await Promise.all([connected(publisher), connected(sfu)]);
    const sent = captureSent(sfu);
    await sendRtp(video, 20, 96);

    const audio = new MediaStreamTrack({ kind: 'audio' });
    publisher.addTransceiver(audio, { direction: 'sendonly' });
    await negotiate(publisher, sfu);
    expect(sfu.getReceivers()).toHaveLength(2);
    await Promise.all([sendRtp(video, 20, 96, 20), sendRtp(audio, 20, 111)]);
    await sleep(150);

    const received = reportedReceived(sent);
    for (let seq = 1; seq <= 60; seq++) expect(received.has(seq), `seq ${seq}`).toBe(true);
    expect(feedback.stats.transports).toBe(1);
    for (const receiver of sfu.getReceivers()) expect(receiver.receiverTWCC).toBeUndefined();
  });

  it('without the adapter werift creates its own ReceiverTWCC (what the adapter switches off)', async () => {
    const publisher = loopbackPeer();
    const sfu = loopbackPeer();
    cleanups.push(async () => {
      await publisher.close();
      await sfu.close();
    });
    const video = new MediaStreamTrack({ kind: 'video' });
    publisher.addTransceiver(video, { direction: 'sendonly' });
    await negotiate(publisher, sfu);
    await Promise.all([connected(publisher), connected(sfu)]);
    await sendRtp(video, 5, 96);
    await sleep(50);
    expect(sfu.getReceivers()[0].receiverTWCC).toBeDefined();
  });

  it('close() is idempotent, stops the timer and its subscriptions, and it closes with the peer connection', async () => {
    const { sfu, feedback } = pair();
    const clearInterval = vi.spyOn(globalThis, 'clearInterval');
    feedback.close();
    feedback.close();
    expect(clearInterval).toHaveBeenCalledTimes(1);
    clearInterval.mockRestore();
    expect(feedback.closed).toBe(true);
    expect(feedback.stats.transports).toBe(0);
    expect(() => feedback.flush()).toThrow(InvalidStateError);

    const other = loopbackPeer();
    const second = attachTransportCc(other);
    expect(second.stats.transports).toBe(0);
    await other.close();
    expect(second.closed).toBe(true);
    await sfu.close();
  });
});
