import { expect, test } from 'vitest';
import { IceRecovery, type Clock } from '../../../client/sdk/ice-recovery.js';

/** A clock the test moves by hand: timers fire in order as time passes. */
class FakeClock implements Clock {
  time = 0;
  #timers = new Map<number, { at: number; callback: () => void }>();
  #next = 1;
  now = () => this.time;
  setTimeout = (callback: () => void, ms: number) => {
    const id = this.#next++;
    this.#timers.set(id, { at: this.time + ms, callback });
    return id;
  };
  clearTimeout = (handle: unknown) => void this.#timers.delete(handle as number);
  advance(ms: number): void {
    const end = this.time + ms;
    for (;;) {
      const due = [...this.#timers].filter(([, t]) => t.at <= end).sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      this.#timers.delete(due[0]);
      this.time = due[1].at;
      due[1].callback();
    }
    this.time = end;
  }
  get pending(): number {
    return this.#timers.size;
  }
}

function recovery() {
  const clock = new FakeClock();
  const log: string[] = [];
  const r = new IceRecovery(
    {
      restart: () => log.push(`restart@${clock.time}`),
      restarting: (reason) => log.push(`restarting:${reason}@${clock.time}`),
      restored: (outageMs, restarts) => log.push(`restored:${outageMs}/${restarts}@${clock.time}`),
      giveUp: () => log.push(`giveUp@${clock.time}`),
    },
    { graceMs: 1500, retryMs: 4000, timeoutMs: 10_000 },
    clock,
  );
  r.update('connected');
  return { r, clock, log };
}

test('a connection that comes back by itself within the grace time is not restarted', () => {
  const { r, clock, log } = recovery();
  r.update('disconnected');
  clock.advance(1499);
  r.update('connected');
  clock.advance(60_000);
  expect(log).toEqual([]);
  expect(clock.pending).toBe(0);
});

test('disconnected past the grace time: one restart, then restored with the outage measured from the first sign', () => {
  const { r, clock, log } = recovery();
  r.update('disconnected');
  clock.advance(1500);
  expect(log).toEqual(['restarting:disconnected@1500', 'restart@1500']);
  r.update('connecting');
  clock.advance(700);
  r.update('connected');
  expect(log.at(-1)).toBe('restored:2200/1@2200');
  clock.advance(60_000);
  expect(log).toHaveLength(3);
  expect(clock.pending).toBe(0);
});

test('failed restarts at once; a restart not connected after retryMs is repeated; none connected within timeoutMs gives up', () => {
  const { r, clock, log } = recovery();
  r.update('failed');
  expect(log).toEqual(['restarting:failed@0', 'restart@0']);
  r.update('failed'); // the same state again: nothing
  clock.advance(4000);
  expect(log.at(-1)).toBe('restart@4000');
  r.update('disconnected');
  r.update('failed'); // the retry's checks failing right after it was sent: no second restart yet
  expect(log.filter((l) => l.startsWith('restart@'))).toHaveLength(2);
  clock.advance(1500);
  r.update('disconnected');
  r.update('failed'); // failed again once its checks had time: restarted at once
  expect(log.at(-1)).toBe('restart@5500');
  clock.advance(4500);
  expect(log.at(-1)).toBe('giveUp@10000');
  clock.advance(60_000);
  expect(log.filter((l) => l.startsWith('restart@'))).toEqual(['restart@0', 'restart@4000', 'restart@5500', 'restart@9500']);
  expect(clock.pending).toBe(0);
  r.update('connected'); // after giving up it is closed: nothing more
  expect(log.at(-1)).toBe('giveUp@10000');
});

test('a second outage starts afresh: its own grace time, restarts and deadline', () => {
  const { r, clock, log } = recovery();
  r.update('failed');
  clock.advance(9000);
  r.update('connected');
  clock.advance(1000);
  r.update('disconnected');
  clock.advance(1500);
  expect(log.slice(-2)).toEqual(['restarting:disconnected@11500', 'restart@11500']);
  clock.advance(9999);
  expect(log.at(-1)).not.toMatch(/^giveUp/);
  clock.advance(1);
  expect(log.at(-1)).toBe('giveUp@21500');
});

test('close stops every timer', () => {
  const { r, clock, log } = recovery();
  r.update('disconnected');
  r.close();
  clock.advance(60_000);
  expect(log).toEqual([]);
  expect(clock.pending).toBe(0);
});
