import { createSocket, type Socket } from 'node:dgram';
import { describe, expect, test } from 'vitest';
import { UdpTransport } from 'werift';
import { MediaPortPool } from '../../../sfu/peer/media-port-pool.js';
import { PeerMediaSockets } from '../../../sfu/peer/peer-media-sockets.js';
import { newUdpTransport } from '../../../sfu/peer/werift-peer-internals.js';

describe('MediaPortPool', () => {
  test('hands out every port of the range once, in order, then none', () => {
    const pool = new MediaPortPool(40000, 40004);
    const ports = [1, 2, 3, 4, 5].map(() => pool.acquire());
    expect(ports).toEqual([40000, 40001, 40002, 40003, 40004]);
    expect(pool.acquire()).toBeUndefined();
    expect({ free: pool.free, inUse: pool.inUse, capacity: pool.capacity }).toEqual({ free: 0, inUse: 5, capacity: 5 });
  });

  test('can start anywhere in the range and wraps around', () => {
    const pool = new MediaPortPool(40000, 40004, 40003);
    expect([1, 2, 3, 4, 5].map(() => pool.acquire())).toEqual([40003, 40004, 40000, 40001, 40002]);
    expect(() => new MediaPortPool(40000, 40004, 40005)).toThrow(RangeError);
  });

  test('a returned port goes to the back of the queue and is reused only after the others', () => {
    const pool = new MediaPortPool(40000, 40002);
    const first = pool.acquire()!;
    pool.release(first);
    expect([pool.acquire(), pool.acquire(), pool.acquire()]).toEqual([40001, 40002, 40000]);
    pool.release(40002);
    pool.release(40000);
    expect([pool.acquire(), pool.acquire()]).toEqual([40002, 40000]);
  });

  test('refuses a port returned twice or from outside the range', () => {
    const pool = new MediaPortPool(40000, 40009);
    const port = pool.acquire()!;
    pool.release(port);
    expect(() => pool.release(port)).toThrow(/already in the pool/);
    expect(() => pool.release(39999)).toThrow(RangeError);
    expect(() => pool.release(40010)).toThrow(RangeError);
    expect(() => new MediaPortPool(50000, 40000)).toThrow(RangeError);
    expect(pool.free).toBe(10);
  });

  test('taking and returning a port costs the same with 64,000 ports in use as with none (no scan)', () => {
    const pool = new MediaPortPool(1024, 65535);
    // Nearly full: a pool that scanned for a free port would do ~64,000 steps per call below.
    for (let i = 0; i < pool.capacity - 1; i++) pool.acquire();
    const started = performance.now();
    for (let i = 0; i < 200_000; i++) {
      const port = pool.acquire()!;
      pool.release(port);
    }
    const elapsed = performance.now() - started;
    // 200,000 O(1) cycles take a few ms; a linear scan would take minutes. 1 s leaves room for a busy machine.
    expect(elapsed).toBeLessThan(1000);
    expect(pool.free).toBe(1);
  });
});

const bound = (socket: Socket) => socket.address().port;
const closed = (socket: Socket) => new Promise<void>((resolve) => socket.close(() => resolve()));

describe('PeerMediaSockets', () => {
  // A range of its own, far from the SFU's and the bots' defaults.
  const range = (size: number, offset: number) => new MediaPortPool(47700 + offset, 47700 + offset + size - 1);

  test('binds straight to the next pooled port and returns it when the socket closes', async () => {
    const pool = range(4, 0);
    const sockets = new PeerMediaSockets(pool, '127.0.0.1');
    const opened = await UdpTransport.init('udp4', { interfaceAddresses: sockets.interfaceAddresses });
    expect(bound(opened.socket)).toBe(47700);
    expect(opened.socket.address().address).toBe('127.0.0.1');
    expect({ inUse: pool.inUse, open: sockets.openCount }).toEqual({ inUse: 1, open: 1 });
    await opened.close();
    await expect.poll(() => pool.free).toBe(4);
    expect(sockets.openCount).toBe(0);
  });

  test('skips a port another process holds and leaves it in the pool', async () => {
    const pool = range(3, 10);
    const squatter = createSocket('udp4');
    await new Promise<void>((resolve) => squatter.bind({ port: 47710, address: '127.0.0.1' }, resolve));
    try {
      const sockets = new PeerMediaSockets(pool, '127.0.0.1');
      const opened = await UdpTransport.init('udp4', { interfaceAddresses: sockets.interfaceAddresses });
      expect(bound(opened.socket)).toBe(47711);
      expect(pool.inUse).toBe(1);
      await sockets.close(true);
      expect(pool.free).toBe(3);
    } finally {
      await closed(squatter);
    }
  });

  test('a socket whose bind was in flight when the connection closed is closed and its port returned', async () => {
    const pool = range(2, 20);
    const sockets = new PeerMediaSockets(pool, '127.0.0.1');
    const opening = UdpTransport.init('udp4', { interfaceAddresses: sockets.interfaceAddresses });
    const closing = sockets.close(true); // before the bind has completed
    await expect(opening).rejects.toThrow(/closed while its socket was being bound/);
    await closing;
    expect({ free: pool.free, open: sockets.openCount }).toEqual({ free: 2, open: 0 });
    await expect(UdpTransport.init('udp4', { interfaceAddresses: sockets.interfaceAddresses })).rejects.toThrow(/closed before/);
  });

  test('werift transports not made for a peer connection keep werift behaviour', async () => {
    const transport = newUdpTransport('udp4');
    expect(transport.socket).toBeDefined();
    transport.socket.close();
    const own = await UdpTransport.init('udp4', { interfaceAddresses: { udp4: '127.0.0.1' } });
    expect(bound(own.socket)).toBeGreaterThan(0);
    await own.close();
  });
});
