import { afterEach, expect, test, vi } from 'vitest';
import { SpeakerPriority } from '../../../sfu/session/speaker-priority.js';

afterEach(() => vi.useRealTimers());

test('the loudest speaker gets the priority only after holding it for the hold time; short turns change nothing', () => {
  vi.useFakeTimers();
  const changes: (string | undefined)[] = [];
  const priority = new SpeakerPriority(2000, (identity) => changes.push(identity));
  priority.dominantChanged('a');
  vi.advanceTimersByTime(1999);
  expect(priority.holder).toBeUndefined();
  vi.advanceTimersByTime(1);
  expect(priority.holder).toBe('a');
  // b speaks up for a second at a time, between pauses: a keeps it.
  for (let i = 0; i < 5; i++) {
    priority.dominantChanged('b');
    vi.advanceTimersByTime(1000);
    priority.dominantChanged(undefined);
    vi.advanceTimersByTime(1000);
  }
  expect(priority.holder).toBe('a');
  // b holds the floor: b gets it.
  priority.dominantChanged('b');
  vi.advanceTimersByTime(2000);
  expect(changes).toEqual(['a', 'b']);
  // The holder leaves: nobody has it; close() leaves no timer.
  priority.dominantChanged('c');
  priority.left('b');
  priority.close();
  expect(vi.getTimerCount()).toBe(0);
  expect(changes).toEqual(['a', 'b', undefined]);
});
