import { afterEach, beforeEach, expect, test, vi } from 'vitest';
import { Dynacast, DYNACAST_DOWNGRADE_DELAY_MS } from '../../../sfu/simulcast/dynacast.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

const make = () => {
  const changes: [number, number][] = [];
  const dynacast = new Dynacast(3, (highest, previous) => changes.push([highest, previous]));
  return { dynacast, changes };
};

test('every layer is on at first; a lower need is announced only once it has held for the delay', () => {
  const { dynacast, changes } = make();
  expect(dynacast.highestLayer).toBe(2);
  dynacast.update(0);
  vi.advanceTimersByTime(DYNACAST_DOWNGRADE_DELAY_MS - 1);
  expect(changes).toEqual([]);
  vi.advanceTimersByTime(1);
  expect(changes).toEqual([[0, 2]]);
  expect(dynacast.highestLayer).toBe(0);
});

test('a higher need is announced at once and cancels a pending downgrade', () => {
  const { dynacast, changes } = make();
  dynacast.update(-1);
  vi.advanceTimersByTime(DYNACAST_DOWNGRADE_DELAY_MS);
  expect(changes).toEqual([[-1, 2]]);
  dynacast.update(1);
  expect(changes).toEqual([[-1, 2], [1, -1]]);
  // A tile shrunk for a moment and enlarged again: no change reaches the publisher.
  dynacast.update(0);
  vi.advanceTimersByTime(DYNACAST_DOWNGRADE_DELAY_MS / 2);
  dynacast.update(1);
  vi.advanceTimersByTime(DYNACAST_DOWNGRADE_DELAY_MS * 2);
  expect(changes).toEqual([[-1, 2], [1, -1]]);
});

test('a downgrade goes to the need when the delay ends, not the one that started it', () => {
  const { dynacast, changes } = make();
  dynacast.update(1);
  vi.advanceTimersByTime(1000);
  dynacast.update(0);
  vi.advanceTimersByTime(DYNACAST_DOWNGRADE_DELAY_MS - 1000);
  expect(changes).toEqual([[0, 2]]);
});

test('close() stops a pending downgrade and later updates', () => {
  const { dynacast, changes } = make();
  dynacast.update(0);
  dynacast.close();
  dynacast.close();
  vi.advanceTimersByTime(DYNACAST_DOWNGRADE_DELAY_MS * 2);
  dynacast.update(2);
  expect(changes).toEqual([]);
  expect(vi.getTimerCount()).toBe(0);
});
