// Permissions (RFC 8656 §9-10), Send/Data (§11) and channels (§12) on the pure core, fake clock.
import { describe, expect, it } from 'vitest';
import { Attr, Method } from '../../../turn/stun/constants.js';
import { decodeStunMessage, findAttribute } from '../../../turn/stun/message.js';
import { T0, Session, channelAttr, lifetimeAttr, channelData, errorCodeOf, errorReasonOf, makeCore, peer, peerAttr, sendIndication, udpClient, xorAttr } from './harness.js';

const PEER = peer('127.0.0.1', 60000);
const payload = Buffer.from('hello peer');

function setup(overrides: Parameters<typeof makeCore>[0] = {}, transport: 'udp' | 'tcp' = 'udp') {
  const { core } = makeCore(overrides);
  const clock = { now: T0 };
  const s = new Session(core, udpClient(transport), clock);
  s.allocate([lifetimeAttr(3600)]);
  const relayedByIndication = () => {
    const buf = sendIndication(PEER, payload);
    return core.clientSendIndication(s.client.key, buf, clock.now) !== null;
  };
  const relayedByChannel = (channel: number) => core.clientChannelData(s.client.key, channelData(channel, payload), 0, 4 + payload.length, clock.now) !== null;
  const fromPeer = (address = PEER.address, port = PEER.port) => core.peerData(s.allocation(), address, port, payload, clock.now);
  return { core, clock, s, relayedByIndication, relayedByChannel, fromPeer };
}

describe('TURN core: permissions', () => {
  it('drops Send indications and peer data until a permission exists', () => {
    const { s, relayedByIndication, fromPeer } = setup();
    expect(relayedByIndication()).toBe(false);
    expect(fromPeer()).toBeNull();
    expect(errorCodeOf(s.permit(PEER))).toBeNull();
    expect(relayedByIndication()).toBe(true);
    expect(fromPeer()).not.toBeNull();
  });

  it('relays a Send indication to the XOR-PEER-ADDRESS with the DATA bytes', () => {
    const { core, s, clock } = setup();
    s.permit(PEER);
    const buf = sendIndication(PEER, payload);
    const d = core.clientSendIndication(s.client.key, buf, clock.now)!;
    expect([d.address, d.port]).toEqual([PEER.address, PEER.port]);
    expect(buf.subarray(d.offset, d.offset + d.length).equals(payload)).toBe(true);
  });

  it('a permission covers every port of the peer IP, and expires after 300 s unless refreshed', () => {
    const { core, s, clock, fromPeer } = setup();
    s.permit(PEER);
    expect(fromPeer(PEER.address, 1234)).not.toBeNull();
    clock.now += 200_000;
    s.permit(PEER); // refresh
    clock.now += 200_000; // 400 s after install, 200 s after refresh
    expect(fromPeer()).not.toBeNull();
    clock.now += 100_000;
    expect(fromPeer()).toBeNull();
    core.tick(clock.now);
    expect(s.allocation().permissions.size).toBe(0);
  });

  it('wraps peer data without a channel in a Data indication carrying XOR-PEER-ADDRESS and DATA', () => {
    const { s, fromPeer } = setup();
    s.permit(PEER);
    const msg = decodeStunMessage(fromPeer()!)!;
    expect(msg.method).toBe(Method.Data);
    expect(xorAttr(msg, Attr.XorPeerAddress)).toEqual(PEER);
    const data = findAttribute(msg, Attr.Data)!;
    expect(msg.buf.subarray(data.offset, data.offset + data.length).equals(payload)).toBe(true);
  });

  it('refuses denied peers with 403 (private, loopback by default) and installs nothing', () => {
    const { s } = setup({ allowed: [] });
    for (const address of ['127.0.0.1', '10.1.2.3', '192.168.0.1', '169.254.1.1', '224.0.0.1', '0.0.0.0']) {
      expect(errorCodeOf(s.permit(peer(address)))).toBe(403);
    }
    expect(errorCodeOf(s.permit(peer('8.8.8.8')))).toBeNull();
    // All or nothing: one refused address in a CreatePermission installs none of them.
    const res = s.call(Method.CreatePermission, (tid) => [peerAttr(peer('9.9.9.9'), tid), peerAttr(peer('10.0.0.1'), tid)]);
    expect(errorCodeOf(res)).toBe(403);
    expect([...s.allocation().permissions.keys()]).toEqual(['8.8.8.8']);
  });

  it('an operator deny list overrides the allow list', () => {
    const { s } = setup({ allowed: ['127.0.0.0/8'], denied: ['127.0.0.2/32'] });
    expect(errorCodeOf(s.permit(peer('127.0.0.1')))).toBeNull();
    expect(errorCodeOf(s.permit(peer('127.0.0.2')))).toBe(403);
  });

  it('answers a peer of the other address family with 443', () => {
    const { s } = setup({ allowed: ['::/0', '127.0.0.1/32'] });
    expect(errorCodeOf(s.permit(peer('2001:db8::1')))).toBe(443);
    expect(errorCodeOf(s.bind(0x4000, peer('2001:db8::1')))).toBe(443);
  });

  it('requires an allocation: CreatePermission on a bare 5-tuple gets 437', () => {
    const { core, clock } = setup();
    const other = new Session(core, udpClient(), clock);
    expect(errorCodeOf(other.permit(PEER))).toBe(437);
    expect(errorCodeOf(other.bind(0x4000, PEER))).toBe(437);
  });
});

describe('TURN core: channels', () => {
  it('binds a channel, relays ChannelData both ways, and installs the permission', () => {
    const { s, relayedByChannel, fromPeer } = setup();
    expect(relayedByChannel(0x4001)).toBe(false);
    expect(errorCodeOf(s.bind(0x4001, PEER))).toBeNull();
    expect(relayedByChannel(0x4001)).toBe(true);
    expect(relayedByChannel(0x4002)).toBe(false);
    const out = fromPeer()!;
    expect(out.readUInt16BE(0)).toBe(0x4001);
    expect(out.readUInt16BE(2)).toBe(payload.length);
    expect(out.subarray(4).equals(payload)).toBe(true);
    // Another port of the same IP has the permission but no channel: Data indication.
    expect(decodeStunMessage(fromPeer(PEER.address, 1)!)!.method).toBe(Method.Data);
  });

  it('pads ChannelData to a multiple of four toward TCP clients (RFC 8656 §12.5)', () => {
    const { s, fromPeer } = setup({}, 'tcp');
    s.bind(0x4000, PEER);
    const out = fromPeer()!;
    expect(out.length).toBe(16); // 4 + 10 bytes, padded
    expect(out.readUInt16BE(2)).toBe(payload.length);
  });

  it('rejects channel numbers outside 0x4000-0x7FFF and a missing CHANNEL-NUMBER with 400', () => {
    const { s } = setup();
    expect(errorCodeOf(s.bind(0x3fff, PEER))).toBe(400);
    expect(errorCodeOf(s.bind(0x8000, PEER))).toBe(400);
    expect(errorCodeOf(s.call(Method.ChannelBind, (tid) => [peerAttr(PEER, tid)]))).toBe(400);
    expect(errorCodeOf(s.call(Method.ChannelBind, () => [channelAttr(0x4000)]))).toBe(400);
  });

  it('applies the rebinding rules: one channel per peer address, one peer address per channel', () => {
    const { s } = setup();
    const other = peer('127.0.0.1', 60001);
    expect(errorCodeOf(s.bind(0x4000, PEER))).toBeNull();
    expect(errorCodeOf(s.bind(0x4000, other))).toBe(400);
    expect(errorReasonOf(s.bind(0x4000, other))).toBe('Bad Request: channel bound to another peer');
    expect(errorCodeOf(s.bind(0x4001, PEER))).toBe(400);
    expect(errorReasonOf(s.bind(0x4001, PEER))).toBe('Bad Request: peer bound to another channel');
    expect(errorCodeOf(s.bind(0x4000, PEER))).toBeNull(); // same pair: refresh
    expect(errorCodeOf(s.bind(0x4001, other))).toBeNull();
  });

  it('expires a channel after 600 s unless refreshed, and keeps it from rebinding for 5 more minutes', () => {
    const { core, clock, s, relayedByChannel } = setup();
    s.bind(0x4000, PEER);
    clock.now += 500_000;
    s.bind(0x4000, PEER); // refresh: channel (to 1100 s) and permission (to 800 s)
    clock.now += 250_000;
    expect(relayedByChannel(0x4000)).toBe(true);
    clock.now += 250_000;
    s.permit(PEER); // keep the permission, so only the channel's expiry matters
    expect(relayedByChannel(0x4000)).toBe(true);
    clock.now += 100_001; // 600 s after the channel refresh
    expect(relayedByChannel(0x4000)).toBe(false);
    core.tick(clock.now);
    const other = peer('127.0.0.1', 60001);
    expect(errorCodeOf(s.bind(0x4000, other))).toBe(400); // quarantined
    clock.now += 300_000;
    core.tick(clock.now);
    expect(errorCodeOf(s.bind(0x4000, other))).toBeNull();
  });

  it('rebinding the same pair inside the quarantine revives the channel', () => {
    const { core, clock, s, relayedByChannel } = setup();
    s.bind(0x4000, PEER);
    clock.now += 700_000;
    core.tick(clock.now);
    expect(relayedByChannel(0x4000)).toBe(false);
    expect(errorCodeOf(s.bind(0x4000, PEER))).toBeNull();
    expect(relayedByChannel(0x4000)).toBe(true);
  });

  it('drops ChannelData whose permission expired even if the channel is still bound', () => {
    const { clock, s, relayedByChannel } = setup();
    s.bind(0x4000, PEER);
    clock.now += 300_001; // permission (300 s) gone, channel (600 s) still bound
    expect(relayedByChannel(0x4000)).toBe(false);
  });

  it('drops truncated ChannelData', () => {
    const { core, clock, s } = setup();
    s.bind(0x4000, PEER);
    const buf = channelData(0x4000, payload);
    expect(core.clientChannelData(s.client.key, buf, 0, buf.length - 1, clock.now)).toBeNull();
    expect(core.clientChannelData(s.client.key, buf, 0, 3, clock.now)).toBeNull();
  });
});

describe('TURN core: bandwidth cap', () => {
  it('drops relayed packets beyond the per-allocation byte rate and refills over time', () => {
    const { core, clock, s, relayedByChannel } = setup({ bandwidthBytesPerSecond: 100 });
    s.bind(0x4000, PEER);
    let passed = 0;
    for (let i = 0; i < 20; i++) if (relayedByChannel(0x4000)) passed++;
    expect(passed).toBe(10); // burst of one second: 100 bytes / 10-byte payloads
    clock.now += 500;
    expect(relayedByChannel(0x4000)).toBe(true);
    expect(core.traffic.dropped).toBeGreaterThanOrEqual(10);
  });
});
