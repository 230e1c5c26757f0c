// The state relay threads share through one SharedArrayBuffer each: allocation quotas and relay
// ports. Two instances over the same memory stand in for two threads.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { AllocationQuota } from '../../../turn/allocation-quota.js';
import { PortPool, RESERVATION_LIFETIME_MS } from '../../../turn/port-pool.js';
import { countersMemory, shardRow, sumRows, PACKETS_TO_PEER } from '../../../turn/shard-counters.js';

describe('allocation quota over shared memory', () => {
  it('holds the per-user and total limits across two threads', () => {
    const memory = AllocationQuota.memory(5);
    const a = new AllocationQuota(3, 5, memory);
    const b = new AllocationQuota(3, 5, memory);
    expect(a.tryAdd('alice')).toBeNull();
    expect(b.tryAdd('alice')).toBeNull();
    expect(a.tryAdd('alice')).toBeNull();
    expect(b.tryAdd('alice')).toBe('user-quota');
    expect(b.tryAdd('bob')).toBeNull();
    expect(a.tryAdd('carol')).toBeNull();
    expect(b.tryAdd('dave')).toBe('total-quota');
    expect(a.count).toBe(5);
    // A release on one thread frees room for the other.
    b.remove('alice');
    expect(a.tryAdd('alice')).toBeNull();
    expect(a.tryAdd('alice')).toBe('total-quota');
  });

  it('keeps every user count right through many adds and removes (hash table deletion)', () => {
    const memory = AllocationQuota.memory(200);
    const threads = [new AllocationQuota(4, 200, memory), new AllocationQuota(4, 200, memory)];
    const expected = new Map<string, number>();
    let seed = 7;
    const rand = (n: number): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % n);
    for (let i = 0; i < 20_000; i++) {
      const user = `user-${rand(150)}`;
      const q = threads[rand(2)];
      const n = expected.get(user) ?? 0;
      if (rand(2) === 0) {
        const total = [...expected.values()].reduce((x, y) => x + y, 0);
        const want = total >= 200 ? 'total-quota' : n >= 4 ? 'user-quota' : null;
        expect(q.tryAdd(user)).toBe(want);
        if (want === null) expected.set(user, n + 1);
      } else {
        q.remove(user);
        if (n > 1) expected.set(user, n - 1);
        else expected.delete(user);
      }
    }
    expect(threads[0].count).toBe([...expected.values()].reduce((x, y) => x + y, 0));
    // Every user can still add exactly up to its limit.
    for (const [user, n] of expected) {
      for (let k = n; k < 4 && threads[0].count < 200; k++) expect(threads[1].tryAdd(user)).toBeNull();
    }
  });

  it('a user with no allocation takes no room: removing too often is harmless', () => {
    const q = new AllocationQuota(1, 1);
    q.remove('ghost');
    expect(q.count).toBe(0);
    expect(q.tryAdd('ghost')).toBeNull();
  });
});

describe('relay ports over shared memory', () => {
  it('two threads never hand out the same port, and together use the whole range', () => {
    const memory = PortPool.memory(1000, 1063);
    const a = new PortPool(1000, 1063, Math.random, memory);
    const b = new PortPool(1000, 1063, Math.random, memory);
    const got = new Set<number>();
    for (let i = 0; i < 32; i++) {
      for (const pool of [a, b]) {
        const port = pool.acquire();
        expect(got.has(port)).toBe(false);
        got.add(port);
      }
    }
    expect(got.size).toBe(64);
    expect(a.acquire()).toBe(-1);
    expect(a.inUseEverywhere).toBe(64);
    const some = [...got][0];
    // Only the pool that holds a port releases it.
    a.release(some);
    b.release(some);
    expect(a.inUse + b.inUse).toBe(63);
    expect(a.inUseEverywhere).toBe(63);
    a.clear();
    b.clear();
    expect(a.inUseEverywhere).toBe(0);
  });

  it('a RESERVATION-TOKEN from one thread is claimed on another, once', () => {
    const memory = PortPool.memory(2000, 2009);
    const owner = new PortPool(2000, 2009, () => 0, memory);
    const other = new PortPool(2000, 2009, () => 0, memory);
    const now = 1_000_000;
    const port = owner.acquire(true, true);
    expect(port).toBe(2000);
    const token = owner.reserve(port + 1, randomBytes(8), now);
    expect(token.readUInt16BE(0)).toBe(port + 1);
    expect(other.acquire()).toBe(2002); // 2000 and 2001 are held
    expect(other.claim(token, now + 1000)).toBe(port + 1);
    expect(owner.claim(token, now + 1000)).toBe(-1);
    // The owner's sweep after expiry does not free the port the other thread now holds.
    owner.sweep(now + RESERVATION_LIFETIME_MS + 1);
    expect(owner.inUse).toBe(1);
    expect(other.inUse).toBe(2);
    expect(owner.inUseEverywhere).toBe(3);
  });

  it('an expired or forged token is refused and the owner frees the reservation', () => {
    const memory = PortPool.memory(3000, 3009);
    const owner = new PortPool(3000, 3009, () => 0, memory);
    const other = new PortPool(3000, 3009, () => 0, memory);
    const now = 5_000_000;
    const port = owner.acquire(true, true);
    const token = owner.reserve(port + 1, randomBytes(8), now);
    const forged = Buffer.from(token);
    forged[7] ^= 1;
    expect(other.claim(forged, now)).toBe(-1);
    expect(other.claim(token, now + RESERVATION_LIFETIME_MS)).toBe(-1);
    owner.sweep(now + RESERVATION_LIFETIME_MS);
    expect(owner.inUseEverywhere).toBe(1);
  });
});

describe('shard counters', () => {
  it('each thread writes its own row; the main thread sums them', () => {
    const memory = countersMemory(3);
    shardRow(memory, 1)[PACKETS_TO_PEER] += 5;
    shardRow(memory, 2)[PACKETS_TO_PEER] += 7;
    expect(sumRows(memory)[PACKETS_TO_PEER]).toBe(12);
  });
});
