// Allocate / Refresh on the pure core with a fake clock (RFC 8656 §7, §8).
import { describe, expect, it } from 'vitest';
import { Attr, Method } from '../../../turn/stun/constants.js';
import { findAttribute } from '../../../turn/stun/message.js';
import { encodeAddressFamily } from '../../../turn/stun/attributes.js';
import { T0, Session, errorCodeOf, lifetimeAttr, lifetimeOf, makeCore, sends, udpClient, udpTransport, xorAttr, buildRequest } from './harness.js';

function setup(overrides: Parameters<typeof makeCore>[0] = {}) {
  const { core, observed } = makeCore(overrides);
  const clock = { now: T0 };
  const session = (username = 'alice', password = `${username}-pw`) => new Session(core, udpClient(), clock, username, password);
  return { core, observed, clock, session };
}

describe('TURN core: allocations', () => {
  it('grants an allocation with relayed and mapped addresses and the default lifetime', () => {
    const { session, observed } = setup();
    const s = session();
    const res = s.allocate();
    expect(errorCodeOf(res)).toBeNull();
    expect(xorAttr(res, Attr.XorRelayedAddress)).toMatchObject({ family: 4, address: '127.0.0.1' });
    expect(xorAttr(res, Attr.XorRelayedAddress)!.port).toBeGreaterThanOrEqual(50000);
    expect(xorAttr(res, Attr.XorMappedAddress)).toEqual({ family: 4, address: '127.0.0.1', port: s.client.port });
    expect(lifetimeOf(res)).toBe(600);
    expect(res.integrityOffset).toBeGreaterThan(0);
    expect(res.fingerprintOffset).toBeGreaterThan(0);
    expect(observed.created).toBe(1);
  });

  it('answers a retransmitted Allocate with the same response, and another Allocate with 437', () => {
    const { session } = setup();
    const s = session();
    const tid = Buffer.alloc(12, 7);
    const first = s.call(Method.Allocate, () => [udpTransport], tid);
    const again = s.call(Method.Allocate, () => [udpTransport], tid);
    expect(again.buf.equals(first.buf)).toBe(true);
    expect(errorCodeOf(s.allocate())).toBe(437);
  });

  it('clamps LIFETIME between the default and the maximum', () => {
    const { session } = setup();
    expect(lifetimeOf(session().allocate([lifetimeAttr(30)]))).toBe(600);
    expect(lifetimeOf(session().allocate([lifetimeAttr(1800)]))).toBe(1800);
    expect(lifetimeOf(session().allocate([lifetimeAttr(999_999)]))).toBe(3600);
  });

  it('expires an allocation after its lifetime and then answers its requests with 437', () => {
    const { core, clock, session, observed } = setup();
    const s = session();
    s.allocate();
    clock.now += 599_000;
    expect(core.tick(clock.now)).toEqual([]);
    clock.now += 1_000;
    const actions = core.tick(clock.now);
    expect(actions.map((a) => a.kind)).toEqual(['close-relay']);
    expect(core.allocationCount).toBe(0);
    expect(observed.deleted).toEqual(['expired']);
    expect(errorCodeOf(s.refresh())).toBe(437);
  });

  it('Refresh extends the allocation; Refresh with LIFETIME 0 deletes it', () => {
    const { core, clock, session } = setup();
    const s = session();
    s.allocate();
    clock.now += 500_000;
    expect(lifetimeOf(s.refresh(600))).toBe(600);
    clock.now += 500_000; // 1000 s after creation, 500 s after the refresh
    core.tick(clock.now);
    expect(core.allocationCount).toBe(1);
    const actions = s.raw(Method.Refresh, () => [lifetimeAttr(0)]);
    expect(actions.map((a) => a.kind)).toEqual(['close-relay', 'send']);
    expect(lifetimeOf(sends(actions)[0])).toBe(0);
    expect(core.allocationCount).toBe(0);
    expect(errorCodeOf(s.refresh(0))).toBe(437);
  });

  it('Refresh with a different REQUESTED-ADDRESS-FAMILY gets 443', () => {
    const { session } = setup();
    const s = session();
    s.allocate();
    expect(errorCodeOf(s.call(Method.Refresh, () => [[Attr.RequestedAddressFamily, encodeAddressFamily(6)]]))).toBe(443);
    expect(errorCodeOf(s.call(Method.Refresh, () => [[Attr.RequestedAddressFamily, encodeAddressFamily(4)]]))).toBeNull();
  });

  it('requires REQUESTED-TRANSPORT (400) and refuses anything but UDP (442)', () => {
    const { session } = setup();
    expect(errorCodeOf(session().call(Method.Allocate, () => []))).toBe(400);
    expect(errorCodeOf(session().call(Method.Allocate, () => [[Attr.RequestedTransport, Buffer.from([6, 0, 0, 0])]]))).toBe(442);
  });

  it('refuses an IPv6 relay when only IPv4 is configured (440), and accepts an explicit IPv4 request', () => {
    const { session } = setup();
    expect(errorCodeOf(session().allocate([[Attr.RequestedAddressFamily, encodeAddressFamily(6)]]))).toBe(440);
    expect(errorCodeOf(session().allocate([[Attr.RequestedAddressFamily, encodeAddressFamily(4)]]))).toBeNull();
  });

  it('with ADDITIONAL-ADDRESS-FAMILY IPv6 allocates IPv4 and reports ADDRESS-ERROR-CODE 440', () => {
    const { session } = setup();
    const res = session().allocate([[Attr.AdditionalAddressFamily, encodeAddressFamily(6)]]);
    expect(errorCodeOf(res)).toBeNull();
    const attr = findAttribute(res, Attr.AddressErrorCode)!;
    expect(res.buf[attr.offset + 2] * 100 + res.buf[attr.offset + 3]).toBe(440);
    expect(errorCodeOf(session().allocate([[Attr.AdditionalAddressFamily, encodeAddressFamily(4)]]))).toBe(400);
  });

  it('answers unknown comprehension-required attributes with 420 and UNKNOWN-ATTRIBUTES, and ignores optional ones', () => {
    const { session } = setup();
    const res = session().allocate([[0x0031, Buffer.alloc(4)], [0x0032, Buffer.alloc(0)]]);
    expect(errorCodeOf(res)).toBe(420);
    const list = findAttribute(res, Attr.UnknownAttributes)!;
    expect([res.buf.readUInt16BE(list.offset), res.buf.readUInt16BE(list.offset + 2)]).toEqual([0x0031, 0x0032]);
    expect(res.integrityOffset).toBeGreaterThan(0);
    expect(errorCodeOf(session().allocate([[0x8055, Buffer.alloc(4)]]))).toBeNull();
  });

  it('accepts DONT-FRAGMENT and EVEN-PORT R=0 (even relay port)', () => {
    const { session } = setup();
    for (let i = 0; i < 5; i++) {
      const res = session().allocate([[Attr.DontFragment, Buffer.alloc(0)], [Attr.EvenPort, Buffer.from([0])]]);
      expect(errorCodeOf(res)).toBeNull();
      expect(xorAttr(res, Attr.XorRelayedAddress)!.port % 2).toBe(0);
    }
  });

  it('EVEN-PORT R=1 reserves the next port for the RESERVATION-TOKEN, which a later Allocate claims', () => {
    const { core, clock, session } = setup();
    const first = session().allocate([[Attr.EvenPort, Buffer.from([0x80])]]);
    const port = xorAttr(first, Attr.XorRelayedAddress)!.port;
    const tokenAttr = findAttribute(first, Attr.ReservationToken)!;
    const token = Buffer.from(first.buf.subarray(tokenAttr.offset, tokenAttr.offset + 8));
    expect(port % 2).toBe(0);
    expect(core.portsInUse).toBe(2);
    const second = session().allocate([[Attr.ReservationToken, token]]);
    expect(xorAttr(second, Attr.XorRelayedAddress)!.port).toBe(port + 1);
    // A token cannot be used twice, nor together with EVEN-PORT.
    expect(errorCodeOf(session().allocate([[Attr.ReservationToken, token]]))).toBe(508);
    expect(errorCodeOf(session().allocate([[Attr.ReservationToken, token], [Attr.EvenPort, Buffer.from([0])]]))).toBe(400);
    // An unclaimed reservation is released after ~30 s.
    session().allocate([[Attr.EvenPort, Buffer.from([0x80])]]);
    expect(core.portsInUse).toBe(4);
    clock.now += 31_000;
    core.tick(clock.now);
    expect(core.portsInUse).toBe(3);
  });

  it('enforces the per-user quota with 486', () => {
    const { session, observed } = setup({ maxAllocationsPerUser: 2 });
    expect(errorCodeOf(session().allocate())).toBeNull();
    expect(errorCodeOf(session().allocate())).toBeNull();
    expect(errorCodeOf(session().allocate())).toBe(486);
    expect(errorCodeOf(session('bob').allocate())).toBeNull();
    expect(observed.refused).toEqual(['user-quota']);
  });

  it('enforces the total quota with 486, and frees quota when an allocation is deleted', () => {
    const { session, observed } = setup({ maxAllocationsTotal: 2 });
    const a = session();
    a.allocate();
    session('bob').allocate();
    expect(errorCodeOf(session('bob').allocate())).toBe(486);
    expect(observed.refused).toEqual(['total-quota']);
    a.refresh(0);
    expect(errorCodeOf(session('bob').allocate())).toBeNull();
  });

  it('answers 508 when the relay port range is exhausted, and recovers when a port is freed', () => {
    const { session, observed } = setup({ relayPortRange: [50000, 50001] });
    const first = session();
    first.allocate();
    session().allocate();
    expect(errorCodeOf(session().allocate())).toBe(508);
    expect(observed.refused).toEqual(['port-exhausted']);
    first.refresh(0);
    expect(errorCodeOf(session().allocate())).toBeNull();
  });

  it('retries another port when a relay bind fails, and gives up with 508 after five tries', () => {
    const { core, session } = setup();
    const s = session();
    s.call(Method.Allocate, () => [udpTransport]); // nonce
    s.refresh(0);
    const req = buildRequest(Method.Allocate, [udpTransport], { username: 'alice', password: 'alice-pw', nonce: s.nonce });
    let actions = core.handleMessage(s.client, req, T0);
    const allocation = (actions[0] as { allocation: import('../../../turn/allocation.js').Allocation }).allocation;
    const ports = [allocation.relayPort];
    for (let i = 0; i < 4; i++) {
      actions = core.relayFailed(allocation);
      expect(actions.map((a) => a.kind)).toEqual(['open-relay']);
      ports.push(allocation.relayPort);
    }
    actions = core.relayFailed(allocation);
    expect(errorCodeOf(sends(actions)[0])).toBe(508);
    expect(core.allocationCount).toBe(0);
    expect(core.portsInUse).toBe(0);
    expect(new Set(ports).size).toBeGreaterThan(1);
  });

  it('deletes the allocation of a TCP client whose connection closed', () => {
    const { core, clock } = setup();
    const s = new Session(core, udpClient('tcp'), clock);
    s.allocate();
    expect(core.clientClosed(s.client.key).map((a) => a.kind)).toEqual(['close-relay']);
    expect(core.allocationCount).toBe(0);
    expect(core.clientClosed(s.client.key)).toEqual([]);
  });

  it('closeAll deletes every allocation and frees every port', () => {
    const { core, session } = setup();
    for (let i = 0; i < 3; i++) session().allocate();
    expect(core.closeAll().filter((a) => a.kind === 'close-relay')).toHaveLength(3);
    expect(core.allocationCount).toBe(0);
    expect(core.portsInUse).toBe(0);
  });
});
