// Long-term credentials on the pure core (RFC 8489 §9.2, RFC 8656 §5), with a fake clock.
import { describe, expect, it } from 'vitest';
import { mintTurnCredentials } from '../../../turn/credentials.js';
import { Attr, Method } from '../../../turn/stun/constants.js';
import { decodeText } from '../../../turn/stun/attributes.js';
import { findAttribute } from '../../../turn/stun/message.js';
import { MessageBuilder } from '../../../turn/stun/builder.js';
import { T0, REALM, Session, buildRequest, errorCodeOf, makeCore, sends, udpClient, udpTransport, xorAttr } from './harness.js';
import { randomBytes } from 'node:crypto';

describe('TURN core: authentication', () => {
  it('challenges an unsigned Allocate with 401, REALM and NONCE, without MESSAGE-INTEGRITY', () => {
    const { core } = makeCore();
    const res = sends(core.handleMessage(udpClient(), buildRequest(Method.Allocate, [udpTransport]), T0))[0];
    expect(errorCodeOf(res)).toBe(401);
    expect(decodeText(res, findAttribute(res, Attr.Realm)!, 763)).toBe(REALM);
    expect(findAttribute(res, Attr.Nonce)).toBeDefined();
    expect(res.integrityOffset).toBe(-1);
  });

  it('answers 401 to a wrong password and to an unknown user, and reports both', () => {
    const { core, observed } = makeCore();
    const clock = { now: T0 };
    const wrong = new Session(core, udpClient(), clock, 'alice', 'nope');
    expect(errorCodeOf(wrong.allocate())).toBe(401);
    const unknown = new Session(core, udpClient(), clock, 'mallory', 'x');
    expect(errorCodeOf(unknown.allocate())).toBe(401);
    expect(observed.authFailures).toEqual(['bad-integrity', 'unknown-user']);
    expect(core.allocationCount).toBe(0);
  });

  it('answers 400 to a signed request that lacks USERNAME, REALM or NONCE', () => {
    const { core } = makeCore();
    const b = new MessageBuilder(0x0003, randomBytes(12)).add(Attr.RequestedTransport, Buffer.from([17, 0, 0, 0]));
    const req = b.finish({ integrityKey: Buffer.alloc(16), fingerprint: true });
    expect(errorCodeOf(sends(core.handleMessage(udpClient(), req, T0))[0])).toBe(400);
  });

  it('answers 438 with a fresh nonce once the nonce has expired, and accepts the fresh one', () => {
    const { core } = makeCore({ nonceLifetimeSeconds: 60 });
    const clock = { now: T0 };
    const s = new Session(core, udpClient(), clock);
    s.allocate();
    clock.now += 61_000;
    const stale = sends(s.signed(Method.Refresh, () => [], randomBytes(12)))[0];
    expect(errorCodeOf(stale)).toBe(438);
    const fresh = decodeText(stale, findAttribute(stale, Attr.Nonce)!, 763)!;
    expect(fresh).not.toBe(s.nonce);
    s.nonce = fresh;
    expect(errorCodeOf(sends(s.signed(Method.Refresh, () => [], randomBytes(12)))[0])).toBeNull();
  });

  it('answers 438 to a forged nonce', () => {
    const { core } = makeCore();
    const req = buildRequest(Method.Allocate, [udpTransport], { username: 'alice', password: 'alice-pw', nonce: 'ffffffffffff.0123456789abcdef01234567' });
    expect(errorCodeOf(sends(core.handleMessage(udpClient(), req, T0))[0])).toBe(438);
  });

  it('answers 441 when another user speaks on an allocation\'s 5-tuple', () => {
    const { core, observed } = makeCore();
    const clock = { now: T0 };
    const client = udpClient();
    new Session(core, client, clock).allocate();
    const bob = new Session(core, client, clock, 'bob', 'bob-pw');
    expect(errorCodeOf(bob.refresh())).toBe(441);
    expect(observed.authFailures).toEqual(['wrong-credentials']);
  });

  it('accepts coturn-style REST credentials until they expire', () => {
    const { core } = makeCore();
    const clock = { now: T0 };
    const creds = mintTurnCredentials({ secret: 'rest-secret', identity: 'participant-1', ttlSeconds: 60, now: clock.now });
    expect(creds.username).toBe(`${T0 / 1000 + 60}:participant-1`);
    const s = new Session(core, udpClient(), clock, creds.username, creds.credential);
    expect(errorCodeOf(s.allocate())).toBeNull();
    clock.now += 61_000;
    const late = new Session(core, udpClient(), clock, creds.username, creds.credential);
    expect(errorCodeOf(late.allocate())).toBe(401);
    const forged = new Session(core, udpClient(), { now: T0 }, creds.username, 'AAAA');
    expect(errorCodeOf(forged.allocate())).toBe(401);
  });

  it('quota for REST credentials counts the identity, not each minted username', () => {
    const { core } = makeCore({ maxAllocationsPerUser: 1 });
    const clock = { now: T0 };
    const one = mintTurnCredentials({ secret: 'rest-secret', identity: 'p1', ttlSeconds: 60, now: T0 });
    const two = mintTurnCredentials({ secret: 'rest-secret', identity: 'p1', ttlSeconds: 120, now: T0 });
    expect(errorCodeOf(new Session(core, udpClient(), clock, one.username, one.credential).allocate())).toBeNull();
    expect(errorCodeOf(new Session(core, udpClient(), clock, two.username, two.credential).allocate())).toBe(486);
  });
});

describe('TURN core: Binding and rate limiting', () => {
  it('answers Binding with XOR-MAPPED-ADDRESS, SOFTWARE and FINGERPRINT, without credentials', () => {
    const { core } = makeCore();
    const client = udpClient();
    const res = sends(core.handleMessage(client, buildRequest(Method.Binding, []), T0))[0];
    expect(xorAttr(res, Attr.XorMappedAddress)).toEqual({ family: 4, address: '127.0.0.1', port: client.port });
    expect(decodeText(res, findAttribute(res, Attr.Software)!, 763)).toBe('tsfu-test');
    expect(res.fingerprintOffset).toBeGreaterThan(0);
  });

  it('answers 420 to a Binding with an unknown comprehension-required attribute', () => {
    const { core } = makeCore();
    const res = sends(core.handleMessage(udpClient(), buildRequest(Method.Binding, [[0x0077, Buffer.alloc(4)]]), T0))[0];
    expect(errorCodeOf(res)).toBe(420);
  });

  it('answers 400 to a request of an unknown method, and ignores responses and unknown indications', () => {
    const { core } = makeCore();
    expect(errorCodeOf(sends(core.handleMessage(udpClient(), buildRequest(0x00a, []), T0))[0])).toBe(400);
    const response = Buffer.from(buildRequest(Method.Binding, []));
    response.writeUInt16BE(0x0101, 0);
    expect(core.handleMessage(udpClient(), response, T0)).toEqual([]);
  });

  it('drops a message whose FINGERPRINT is wrong', () => {
    const { core } = makeCore();
    const req = buildRequest(Method.Binding, []);
    req[req.length - 1] ^= 0xff;
    expect(core.handleMessage(udpClient(), req, T0)).toEqual([]);
  });

  it('rate-limits unauthenticated requests per source address and refills with time', () => {
    const { core } = makeCore({ unauthenticatedRateLimit: { perSecond: 2, burst: 3 } });
    const client = udpClient();
    const answered = (now: number) => core.handleMessage(client, buildRequest(Method.Binding, []), now).length;
    expect([answered(T0), answered(T0), answered(T0), answered(T0)]).toEqual([1, 1, 1, 0]);
    expect(core.handleMessage(client, buildRequest(Method.Allocate, [udpTransport]), T0)).toEqual([]);
    expect(answered(T0 + 500)).toBe(1);
    expect(answered(T0 + 500)).toBe(0);
  });
});
