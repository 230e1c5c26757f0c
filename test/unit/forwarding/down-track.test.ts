import { randomBytes } from 'node:crypto';
import { expect, test } from 'vitest';
import { GenericNack, RtcpTransportLayerFeedback, RtpHeader, RtpPacket, SrtpSession, type RTCDtlsTransport, type RTCRtpCodecParameters } from 'werift';
import { DownTrack, type DownTrackLine } from '../../../sfu/media/down-track.js';
import { PacketCache } from '../../../sfu/media/packet-cache.js';
import type { PublishedTrack } from '../../../sfu/media/published-track.js';
import { SRTP_AEAD_AES_128_GCM } from '../../../sfu/media/rtp/srtp-sender.js';
import { Registry } from 'prom-client';
import { createSfuMetrics } from '../../../sfu/sfu-metrics.js';
import { SentPackets } from '../../../sfu/bwe/sent-packets.js';

const URI = {
  mid: 'urn:ietf:params:rtp-hdrext:sdes:mid',
  twcc: 'http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01',
  abs: 'http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time',
  level: 'urn:ietf:params:rtp-hdrext:ssrc-audio-level',
};

function setup() {
  const masterKey = randomBytes(16);
  const masterSalt = randomBytes(12);
  const other = { key: randomBytes(16), salt: randomBytes(12) };
  const keys = (local: boolean) => ({
    keys: local
      ? { localMasterKey: masterKey, localMasterSalt: masterSalt, remoteMasterKey: other.key, remoteMasterSalt: other.salt }
      : { localMasterKey: other.key, localMasterSalt: other.salt, remoteMasterKey: masterKey, remoteMasterSalt: masterSalt },
    profile: SRTP_AEAD_AES_128_GCM as never,
  });
  const receiver = new SrtpSession(keys(false));
  const sent: Buffer[] = [];
  const transportRecord = new SentPackets();
  const dtls = {
    state: 'connected',
    bytesSent: 0,
    packetsSent: 0,
    srtp: new SrtpSession(keys(true)),
    iceTransport: { connection: { send: async (data: Buffer) => void sent.push(data) } },
  };
  const line: DownTrackLine = {
    mid: '3',
    ssrc: 0x1111,
    rtxSsrc: 0x2222,
    codecs: [
      { mimeType: 'video/VP8', payloadType: 96, clockRate: 90000 },
      { mimeType: 'video/rtx', payloadType: 97, clockRate: 90000, parameters: 'apt=96' },
    ] as RTCRtpCodecParameters[],
    dtlsTransport: dtls as unknown as RTCDtlsTransport,
    sent: transportRecord,
  };
  const cache = new PacketCache(64);
  const keyframes: string[] = [];
  /** The layer each key-frame request named. */
  const keyframeLayers: unknown[] = [];
  const layer = { index: 0, rid: undefined, ssrc: 0xabc, cache, active: () => true };
  const track = {
    kind: 'video',
    extensions: { 5: URI.level },
    layers: [layer],
    simulcast: false,
    report: undefined as { ssrc: number; rtpTimestamp: number; atMs: number } | undefined,
    senderReport(): { ssrc: number; rtpTimestamp: number; atMs: number } | undefined {
      return this.report;
    },
    addDownTrack: () => undefined,
    downTrackChanged: () => undefined,
    removeDownTrack: () => undefined,
    requestKeyframe: (reason: string, requested?: unknown) => {
      keyframes.push(reason);
      keyframeLayers.push(requested);
    },
  };
  const none = () => 0;
  const metrics = createSfuMetrics(new Registry(), { rooms: none, participants: none, publishedTracks: none, subscribedTracks: none, peerConnections: none });
  const down = new DownTrack(track as unknown as PublishedTrack, line, metrics);
  down.negotiated({ 1: URI.mid, 3: URI.twcc, 4: URI.abs, 10: URI.level }, [96, 97]);
  const nack = { fire: (feedback: GenericNack) => down.handleRtcp(new RtcpTransportLayerFeedback({ feedback })) };
  const decrypt = (i: number) => RtpPacket.deSerialize(receiver.decrypt(sent[i]));
  return { down, sent, decrypt, cache, nack, keyframes, keyframeLayers, layer, dtls, track, transportRecord };
}

/** What the published track passes along: the extended numbers (here simply one cycle up). */
function forward(down: DownTrack, p: RtpPacket, keyframe: boolean): void {
  down.forward(p, down.track.layers[0], p.header.sequenceNumber + 0x1_0000, p.header.timestamp + 0x1_0000_0000, keyframe);
}

function packet(sequenceNumber: number, keyframeByte: number): RtpPacket {
  const header = new RtpHeader({ payloadType: 96, ssrc: 0xabc, sequenceNumber, timestamp: sequenceNumber * 100, marker: true, extensionProfile: 0xbede, extensions: [{ id: 5, payload: Buffer.from([0x91]) }] });
  return new RtpPacket(header, Buffer.from([0x10, keyframeByte, 1, 2, 3]));
}

test('forwards from the first key frame with our SSRC, payload type, mid, transport-cc and the remapped audio level', () => {
  const { down, sent, decrypt, keyframes, dtls, transportRecord } = setup();
  forward(down, packet(10, 1), false);
  expect(sent).toHaveLength(0);
  forward(down, packet(11, 0), true);
  forward(down, packet(12, 1), false);
  expect(sent).toHaveLength(2);
  const first = decrypt(0);
  const second = decrypt(1);
  expect(first.header.ssrc).toBe(0x1111);
  expect(first.header.payloadType).toBe(96);
  expect(second.header.sequenceNumber).toBe((first.header.sequenceNumber + 1) & 0xffff);
  expect(second.header.timestamp).toBe((first.header.timestamp + 100) >>> 0);
  const ext = new Map(first.header.extensions.map((e) => [e.id, e.payload]));
  expect(ext.get(1)?.toString()).toBe('3');
  // Transport-wide sequence numbers from the connection's record, which keeps each packet's size on the wire.
  expect(ext.get(3)?.readUInt16BE(0)).toBe(0);
  expect(new Map(second.header.extensions.map((e) => [e.id, e.payload])).get(3)?.readUInt16BE(0)).toBe(1);
  expect([transportRecord.bytes(0), transportRecord.bytes(1)]).toEqual([sent[0].length, sent[1].length]);
  // abs-send-time is not written (subscribers are not offered it), even when an answer names it.
  expect(ext.has(4)).toBe(false);
  expect(ext.get(10)).toEqual(Buffer.from([0x91]));
  expect(ext.has(5)).toBe(false);
  expect(first.payload).toEqual(Buffer.from([0x10, 0, 1, 2, 3]));
  expect(dtls.packetsSent).toBe(2);
  down.close();
});

test('answers a NACK over RTX with the original sequence number, once per resend interval', () => {
  const { down, sent, decrypt, cache, nack } = setup();
  for (let seq = 100; seq < 105; seq++) {
    const p = packet(seq, seq === 100 ? 0 : 1);
    cache.store(p);
    forward(down, p, seq === 100);
  }
  const lostOut = decrypt(2).header.sequenceNumber;
  nack.fire(new GenericNack({ lost: [lostOut] }));
  nack.fire(new GenericNack({ lost: [lostOut] }));
  expect(sent).toHaveLength(6);
  const rtx = decrypt(5);
  expect(rtx.header.ssrc).toBe(0x2222);
  expect(rtx.header.payloadType).toBe(97);
  expect(rtx.payload.readUInt16BE(0)).toBe(lostOut);
  expect(rtx.payload.subarray(2)).toEqual(Buffer.from([0x10, 1, 1, 2, 3]));
  expect(rtx.header.timestamp).toBe(decrypt(2).header.timestamp);
  down.close();
});

test('sends padding-only packets on the RTX SSRC for probes, counted in the transport-wide record, paused too; none before forwarding', () => {
  const { down, sent, decrypt, transportRecord } = setup();
  expect(down.sendPadding(255)).toBe(0);
  forward(down, packet(100, 0), true);
  const size = down.sendPadding(255);
  expect(sent).toHaveLength(2);
  expect(size).toBe(sent[1].length);
  const raw = sent[1];
  // RFC 3550 §5.1: P bit set; the payload is only padding, its last octet counting it.
  expect(raw[0] & 0x20).toBe(0x20);
  const padding = decrypt(1);
  expect(padding.header.ssrc).toBe(0x2222);
  expect(padding.header.payloadType).toBe(97);
  expect(padding.header.padding).toBe(true);
  expect(padding.header.paddingSize).toBe(255);
  expect(padding.payload).toHaveLength(0);
  const transportSequence = new Map(padding.header.extensions.map((e) => [e.id, e.payload])).get(3)!.readUInt16BE(0);
  expect(transportSequence).toBe(1);
  expect(transportRecord.bytes(1)).toBe(size);
  // Paused (the link could not carry it), it still carries a probe's padding: that is how the link is found again.
  down.setPaused(true);
  expect(down.sendPadding(255)).toBe(size);
  down.close();
  expect(down.sendPadding(255)).toBe(0);
});

test('writes a Sender Report for the primary SSRC once something was sent', () => {
  const { down } = setup();
  const out = Buffer.alloc(28);
  expect(down.writeSenderReport(out, 0, Date.now())).toBe(0);
  forward(down, packet(1, 0), true);
  expect(down.writeSenderReport(out, 0, performance.timeOrigin + performance.now())).toBe(28);
  expect(out.readUInt32BE(4)).toBe(0x1111);
  expect(out.readUInt32BE(20)).toBe(1);
  expect(out.readUInt32BE(24)).toBe(5);
  down.close();
  expect(down.writeSenderReport(out, 0, Date.now())).toBe(0);
});

test('asks for a key frame once it can send (subscribe), then at the bounded rate (waiting), of the layer it waits on; renegotiation asks nothing', () => {
  const { down, keyframes, keyframeLayers, layer, dtls } = setup();
  expect(keyframes).toEqual([]);
  dtls.state = 'connecting';
  forward(down, packet(10, 1), false);
  expect(keyframes).toEqual([]);
  dtls.state = 'connected';
  forward(down, packet(11, 1), false);
  forward(down, packet(12, 1), false);
  expect(keyframes).toEqual(['subscribe', 'waiting']);
  // Named, not left to the track's default (its lowest layer): simulcast waits on the layer it forwards.
  expect(keyframeLayers).toEqual([layer, layer]);
  forward(down, packet(13, 0), true);
  down.negotiated({ 1: URI.mid, 3: URI.twcc, 4: URI.abs, 10: URI.level }, [96, 97]);
  forward(down, packet(14, 1), false);
  expect(keyframes).toEqual(['subscribe', 'waiting']);
  down.close();
});

test('a down track whose first packet is a key frame asks for none', () => {
  const { down, keyframes, sent } = setup();
  forward(down, packet(10, 0), true);
  expect(sent).toHaveLength(1);
  expect(keyframes).toEqual([]);
  down.close();
});

test("the Sender Report carries the publisher's NTP-to-RTP relation, translated and advanced to now", () => {
  const { down, decrypt, track } = setup();
  forward(down, packet(50, 0), true);
  const offset = (decrypt(0).header.timestamp - 5000) >>> 0;
  const now = performance.timeOrigin + performance.now();
  // The publisher said RTP 900,000 at the SR it sent 100 ms ago; 100 ms is 9000 ticks at 90 kHz.
  track.report = { ssrc: 0xabc, rtpTimestamp: 900_000, atMs: now - 100 };
  const out = Buffer.alloc(28);
  expect(down.writeSenderReport(out, 0, now)).toBe(28);
  expect(out.readUInt32BE(16)).toBe((900_000 + 9000 + offset) >>> 0);
  // A report about another SSRC (an earlier source) is not used: the newest packet's clock is.
  track.report = { ssrc: 0xdef, rtpTimestamp: 900_000, atMs: now - 100 };
  down.writeSenderReport(out, 0, now);
  expect(Math.abs(((out.readUInt32BE(16) - decrypt(0).header.timestamp) | 0))).toBeLessThan(90 * 50);
  down.close();
});

test('a late packet does not pull the Sender Report clock back', () => {
  const { down, decrypt } = setup();
  forward(down, packet(60, 0), true);
  forward(down, packet(62, 1), false);
  const newestTs = decrypt(1).header.timestamp;
  forward(down, packet(61, 1), false);
  const out = Buffer.alloc(28);
  const now = performance.timeOrigin + performance.now();
  down.writeSenderReport(out, 0, now);
  expect(out.readUInt32BE(20)).toBe(3);
  expect(((out.readUInt32BE(16) - newestTs) | 0)).toBeGreaterThanOrEqual(0);
  expect(((out.readUInt32BE(16) - newestTs) | 0)).toBeLessThan(90 * 50);
  down.close();
});
