import { describe, expect, test } from 'vitest';
import { HeartbeatWheel } from '../../../signaling/heartbeat-wheel.js';

let totalVisits = 0;
class Target {
  visits: number[] = [];
  heartbeat(now: number): void {
    totalVisits++;
    this.visits.push(now);
  }
}

describe('heartbeat wheel', () => {
  test('10,000 sessions are each visited once per interval, never more than 1/50 of them in one tick', () => {
    const wheel = new HeartbeatWheel<Target>(5000);
    expect(wheel.slotMs).toBe(100);
    const targets = Array.from({ length: 10_000 }, () => new Target());
    for (const t of targets) wheel.add(t);
    let maxPerTick = 0;
    for (let tick = 0; tick < 100; tick++) {
      const before = totalVisits;
      wheel.tick(tick * wheel.slotMs);
      maxPerTick = Math.max(maxPerTick, totalVisits - before);
    }
    expect(maxPerTick).toBe(200);
    // Two revolutions: every target twice, exactly one interval apart.
    for (const t of targets) {
      expect(t.visits.length).toBe(2);
      expect(t.visits[1] - t.visits[0]).toBe(5000);
    }
  });

  test('a removed target is not visited and the wheel forgets it', () => {
    const wheel = new HeartbeatWheel<Target>(1000);
    const [a, b] = [new Target(), new Target()];
    wheel.add(a);
    wheel.add(b);
    wheel.delete(a);
    for (let i = 0; i < 20; i++) wheel.tick(i);
    expect(a.visits).toEqual([]);
    expect(b.visits.length).toBe(2);
    expect(wheel.size).toBe(1);
  });

  test('a target removed by another target during a tick is handled, and the revolution callback runs once per interval', () => {
    let revolutions = 0;
    const wheel = new HeartbeatWheel<Target>(300, () => revolutions++);
    expect(wheel.slotMs).toBe(100);
    const victim = new Target();
    const killer = { heartbeat: () => wheel.delete(victim) } as unknown as Target;
    wheel.add(killer);
    wheel.add(victim);
    for (let i = 0; i < 6; i++) wheel.tick(i);
    expect(revolutions).toBe(2);
    expect(victim.visits).toEqual([]);
  });

  test('short intervals get one slot', () => {
    expect(new HeartbeatWheel(50).slotMs).toBe(50);
  });
});

test('a target that throws is reported and the rest of its slot is still visited', () => {
  const errors: unknown[] = [];
  const wheel = new HeartbeatWheel<{ heartbeat(now: number): void }>(100, () => undefined, (error) => errors.push(error));
  const visited: string[] = [];
  wheel.add({ heartbeat: () => { throw new Error('boom'); } });
  wheel.add({ heartbeat: () => visited.push('second') });
  wheel.tick(0); // one slot at a 100 ms interval: both targets are in it
  expect(errors).toHaveLength(1);
  expect(visited).toEqual(['second']);
});
