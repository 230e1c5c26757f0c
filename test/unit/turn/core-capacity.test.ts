// Caps on permissions (RFC 8656 §10.2) and channel bindings (§12.2) per allocation: past them a
// request installs nothing and gets 508 (Insufficient Capacity). Pure core, fake clock.
import { describe, expect, it } from 'vitest';
import { defaultTurnConfig, validateTurnConfig } from '../../../turn/config.js';
import { CHANNEL_LIFETIME_MS, CHANNEL_QUARANTINE_MS } from '../../../turn/channel.js';
import { PERMISSION_LIFETIME_MS } from '../../../turn/permission.js';
import { decodeErrorCode } from '../../../turn/stun/attributes.js';
import { Attr, Method } from '../../../turn/stun/constants.js';
import { findAttribute, type StunMessage } from '../../../turn/stun/message.js';
import { T0, Session, channelData, errorCodeOf, lifetimeAttr, makeCore, peer, peerAttr, udpClient } from './harness.js';

const CAP = 4;
const ip = (i: number): string => `127.0.0.${i + 1}`;

function setup() {
  const { core } = makeCore({ allowed: ['127.0.0.0/8'], maxPermissionsPerAllocation: CAP, maxChannelsPerAllocation: CAP });
  const clock = { now: T0 };
  const s = new Session(core, udpClient(), clock);
  expect(errorCodeOf(s.allocate([lifetimeAttr(3600)]))).toBeNull();
  const permitAll = (addresses: string[]): StunMessage => s.call(Method.CreatePermission, (tid) => addresses.map((a) => peerAttr(peer(a), tid)));
  return { core, clock, s, permitAll };
}

function reason(msg: StunMessage): string {
  return decodeErrorCode(msg, findAttribute(msg, Attr.ErrorCode)!)!.reason;
}

describe('TURN core: permissions per allocation', () => {
  it('installs permissions up to the cap, then answers 508 naming the limit', () => {
    const { s } = setup();
    for (let i = 0; i < CAP; i++) expect(errorCodeOf(s.permit(peer(ip(i))))).toBeNull();
    const refused = s.permit(peer(ip(CAP)));
    expect(errorCodeOf(refused)).toBe(508);
    expect(reason(refused)).toBe(`Insufficient Capacity: at most ${CAP} permissions per allocation`);
    expect(s.allocation().permissions.size).toBe(CAP);
    expect(s.allocation().permissions.has(ip(CAP))).toBe(false);
  });

  it('still refreshes existing permissions at the cap, and counts an IP named twice once', () => {
    const { s, clock, permitAll } = setup();
    expect(errorCodeOf(permitAll([ip(0), ip(1), ip(2), ip(3), ip(3)]))).toBeNull();
    clock.now += 200_000;
    expect(errorCodeOf(permitAll([ip(0), ip(1)]))).toBeNull();
    expect(s.allocation().permissions.get(ip(0))!.expiresAt).toBe(clock.now + PERMISSION_LIFETIME_MS);
  });

  it('is all-or-nothing: a request that would pass the cap installs and refreshes nothing', () => {
    const { s, clock, permitAll } = setup();
    expect(errorCodeOf(permitAll([ip(0), ip(1), ip(2)]))).toBeNull();
    const before = s.allocation().permissions.get(ip(0))!.expiresAt;
    clock.now += 1000;
    expect(errorCodeOf(permitAll([ip(0), ip(3), ip(4)]))).toBe(508);
    expect([...s.allocation().permissions.keys()]).toEqual([ip(0), ip(1), ip(2)]);
    expect(s.allocation().permissions.get(ip(0))!.expiresAt).toBe(before);
  });

  it('does not count expired permissions, even before the timer sweeps them', () => {
    const { s, clock } = setup();
    for (let i = 0; i < CAP; i++) s.permit(peer(ip(i)));
    clock.now += PERMISSION_LIFETIME_MS; // all expired; no tick() yet
    expect(errorCodeOf(s.permit(peer(ip(CAP))))).toBeNull();
    expect([...s.allocation().permissions.keys()]).toEqual([ip(CAP)]);
  });

  it('refuses a ChannelBind that needs a new permission past the cap, and binds nothing', () => {
    const { s } = setup();
    for (let i = 0; i < CAP; i++) s.permit(peer(ip(i)));
    const refused = s.bind(0x4000, peer(ip(CAP)));
    expect(errorCodeOf(refused)).toBe(508);
    expect(s.allocation().channels.size).toBe(0);
    // A peer that already has a permission can still get a channel.
    expect(errorCodeOf(s.bind(0x4000, peer(ip(0))))).toBeNull();
  });
});

describe('TURN core: channels per allocation', () => {
  it('binds channels up to the cap, then answers 508 naming the limit; rebinding refreshes', () => {
    const { s, clock } = setup();
    for (let i = 0; i < CAP; i++) expect(errorCodeOf(s.bind(0x4000 + i, peer(ip(0), 50000 + i)))).toBeNull();
    const refused = s.bind(0x4000 + CAP, peer(ip(0), 50000 + CAP));
    expect(errorCodeOf(refused)).toBe(508);
    expect(reason(refused)).toBe(`Insufficient Capacity: at most ${CAP} channels per allocation`);
    expect(s.allocation().channels.size).toBe(CAP);
    expect(s.allocation().channels.get(0x4000 + CAP)).toBeUndefined();
    clock.now += 1000;
    expect(errorCodeOf(s.bind(0x4001, peer(ip(0), 50001)))).toBeNull();
    expect(s.allocation().channels.get(0x4001)!.expiresAt).toBe(clock.now + CHANNEL_LIFETIME_MS);
  });

  it('answers 400, not 508, for a binding the RFC forbids anyway', () => {
    const { s } = setup();
    for (let i = 0; i < CAP; i++) s.bind(0x4000 + i, peer(ip(0), 50000 + i));
    expect(errorCodeOf(s.bind(0x4000, peer(ip(0), 40000)))).toBe(400); // number bound to another peer
    expect(errorCodeOf(s.bind(0x3fff, peer(ip(0), 40000)))).toBe(400); // out of range
  });

  it('counts bindings in their quarantine until it ends, then frees their places', () => {
    const { core, s, clock } = setup();
    for (let i = 0; i < CAP; i++) s.bind(0x4000 + i, peer(ip(0), 50000 + i));
    clock.now += CHANNEL_LIFETIME_MS;
    s.permit(peer(ip(0))); // keep the permission; the channels have expired
    core.tick(clock.now);
    expect(errorCodeOf(s.bind(0x4000 + CAP, peer(ip(0), 50000 + CAP)))).toBe(508);
    clock.now += CHANNEL_QUARANTINE_MS;
    core.tick(clock.now);
    expect(s.allocation().channels.size).toBe(0);
    expect(errorCodeOf(s.bind(0x4000 + CAP, peer(ip(0), 50000 + CAP)))).toBeNull();
    const data = Buffer.from('after the quarantine');
    expect(core.clientChannelData(s.client.key, channelData(0x4000 + CAP, data), 0, 4 + data.length, clock.now)).not.toBeNull();
  });
});

describe('TURN config: per-allocation caps', () => {
  it('defaults to 64 permissions and 64 channels, and checks the range of each', () => {
    expect(defaultTurnConfig.maxPermissionsPerAllocation).toBe(64);
    expect(defaultTurnConfig.maxChannelsPerAllocation).toBe(64);
    expect(validateTurnConfig({ maxPermissionsPerAllocation: 10, maxChannelsPerAllocation: 16384 }).maxChannelsPerAllocation).toBe(16384);
    expect(() => validateTurnConfig({ maxPermissionsPerAllocation: 0 })).toThrow(/"maxPermissionsPerAllocation" must be an integer/);
    expect(() => validateTurnConfig({ maxChannelsPerAllocation: 16385 })).toThrow(/"maxChannelsPerAllocation" must be an integer in \[1, 16384\]/);
  });
});
