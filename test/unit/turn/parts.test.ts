// Small pieces: config validation, REST credentials, peer filter, TCP framing, IP text forms.
import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { defaultTurnConfig, validateTurnConfig } from '../../../turn/config.js';
import { mintTurnCredentials } from '../../../turn/credentials.js';
import { PeerFilter } from '../../../turn/peer-filter.js';
import { TcpFramer } from '../../../turn/tcp-framer.js';
import { formatIpv6, parseIp } from '../../../turn/ip.js';
import { PortPool } from '../../../turn/port-pool.js';

describe('turn config', () => {
  it('fills defaults and keeps given values', () => {
    const c = validateTurnConfig({ udpPort: 0, users: { a: 'b' } });
    expect(c.udpPort).toBe(0);
    expect(c.listenAddress).toBe('127.0.0.1');
    expect(c.relayPortRange).toEqual(defaultTurnConfig.relayPortRange);
  });

  it('rejects unknown keys by name, including nested ones', () => {
    expect(() => validateTurnConfig({ udpPrt: 1 })).toThrow(/"udpPrt" is not a known key/);
    expect(() => validateTurnConfig({ tls: { cert: 'c', key: 'k', port: 0, ca: 'x' } })).toThrow(/"tls.ca" is not a known key/);
    expect(() => validateTurnConfig({ unauthenticatedRateLimit: { perSecond: 1 } })).toThrow(/unauthenticatedRateLimit.burst/);
  });

  it('rejects invalid values naming the key', () => {
    expect(() => validateTurnConfig({ udpPort: 70000 })).toThrow(/"udpPort"/);
    expect(() => validateTurnConfig({ relayAddress: 'localhost' })).toThrow(/"relayAddress" must be an IP/);
    expect(() => validateTurnConfig({ relayPortRange: [5000, 4000] })).toThrow(/relayPortRange/);
    expect(() => validateTurnConfig({ allowedPeerCidrs: ['127.0.0.1/33'] })).toThrow(/allowedPeerCidrs\[0\]/);
    expect(() => validateTurnConfig({ users: { a: 1 } })).toThrow(/"users.a"/);
    expect(() => validateTurnConfig({ defaultAllocationLifetimeSeconds: 900, maxAllocationLifetimeSeconds: 600 })).toThrow(/maxAllocationLifetimeSeconds/);
    expect(() => validateTurnConfig(null)).toThrow(/must be an object/);
  });

  it('needs an advertised relay address, of the relay family, when relays bind every address', () => {
    expect(() => validateTurnConfig({ relayAddress: '0.0.0.0' })).toThrow(/"relayAddress" 0\.0\.0\.0 cannot be advertised/);
    expect(() => validateTurnConfig({ relayAddress: '::' })).toThrow(/set relayAnnouncedAddress/);
    expect(() => validateTurnConfig({ relayAddress: '0.0.0.0', relayAnnouncedAddress: '2001:db8::1' })).toThrow(/"relayAnnouncedAddress" must be .* same family/);
    expect(() => validateTurnConfig({ relayAddress: '10.0.0.5', relayAnnouncedAddress: '0.0.0.0' })).toThrow(/"relayAnnouncedAddress"/);
    expect(validateTurnConfig({ relayAddress: '0.0.0.0', relayAnnouncedAddress: '203.0.113.10' }).relayAnnouncedAddress).toBe('203.0.113.10');
  });
});

describe('TURN REST API credentials', () => {
  it('mints "<expiry>:<identity>" with base64(HMAC-SHA1(secret, username)) as password', () => {
    const c = mintTurnCredentials({ secret: 'north', identity: 'user-7', ttlSeconds: 3600, now: 1_000_000_000_500 });
    expect(c.username).toBe('1000003600:user-7');
    expect(c.credential).toBe(createHmac('sha1', 'north').update('1000003600:user-7').digest('base64'));
  });
});

describe('peer filter', () => {
  it('denies non-public ranges by default, IPv4-mapped included', () => {
    const f = new PeerFilter([], []);
    for (const a of ['127.0.0.1', '10.0.0.1', '172.16.5.4', '192.168.1.1', '169.254.0.1', '100.64.0.1', '224.1.1.1', '0.0.0.0', '255.255.255.255', '::1', '::', 'fe80::1', 'fc00::1', 'ff02::1', '::ffff:10.0.0.1', 'garbage']) {
      expect(f.allows(a), a).toBe(false);
    }
    for (const a of ['8.8.8.8', '2001:4860::8888', '172.32.0.1']) expect(f.allows(a), a).toBe(true);
  });

  it('opens allowed CIDRs and lets the deny list override them', () => {
    const f = new PeerFilter(['127.0.0.1/32', '10.0.0.0/8'], ['10.9.0.0/16']);
    expect(f.allows('127.0.0.1')).toBe(true);
    expect(f.allows('127.0.0.2')).toBe(false);
    expect(f.allows('10.1.1.1')).toBe(true);
    expect(f.allows('10.9.1.1')).toBe(false);
  });
});

describe('TCP framer', () => {
  const stun = Buffer.concat([Buffer.from([0, 1, 0, 4, 0x21, 0x12, 0xa4, 0x42]), Buffer.alloc(12), Buffer.from([0x80, 0x22, 0, 0])]);
  const cd = Buffer.from([0x40, 0x00, 0x00, 0x05, 1, 2, 3, 4, 5, 0, 0, 0]); // 5 bytes padded to 8

  it('splits STUN and padded ChannelData frames across arbitrary chunk boundaries', () => {
    const stream = Buffer.concat([stun, cd, stun]);
    for (let cut = 1; cut < stream.length; cut++) {
      const f = new TcpFramer();
      const frames: Buffer[] = [];
      for (const chunk of [stream.subarray(0, cut), stream.subarray(cut)]) {
        f.push(chunk);
        for (let fr = f.next(); fr; fr = f.next()) frames.push(Buffer.from(fr));
      }
      expect(frames.map((x) => x.length)).toEqual([24, 12, 24]);
      expect(f.buffered).toBe(0);
    }
  });

  it('flags a stream that starts with neither STUN nor ChannelData', () => {
    const f = new TcpFramer();
    f.push(Buffer.from([0xc0, 0, 0, 0]));
    expect(f.next()).toBeNull();
    expect(f.error).toBe(true);
  });
});

describe('IP text', () => {
  it('round-trips IPv6 in RFC 5952 form as the kernel prints it', () => {
    for (const a of ['2001:db8::1', '::1', '::', 'fe80::1:2', '2001:db8:0:1:1:1:1:1', '::ffff:1.2.3.4', '1::']) {
      expect(formatIpv6(parseIp(a)!)).toBe(a);
    }
    expect(parseIp('1:2:3:4:5:6:7:8:9')).toBeNull();
    expect(parseIp('1.2.3.256')).toBeNull();
    expect(parseIp(':::')).toBeNull();
  });
});

describe('port pool', () => {
  it('hands out every port of the range once, then -1', () => {
    const pool = new PortPool(100, 104);
    const got = Array.from({ length: 5 }, () => pool.acquire());
    expect(new Set(got)).toEqual(new Set([100, 101, 102, 103, 104]));
    expect(pool.acquire()).toBe(-1);
    pool.release(102);
    expect(pool.acquire()).toBe(102);
  });
});
