import { expect, test } from 'vitest';
import { ResumeLog } from '../../../signaling/resume-log.js';

test('gives the frames after the count a client read, and nothing it read', () => {
  const log = new ResumeLog(10, 1000);
  expect(log.after(0)).toEqual([]);
  for (const frame of ['a', 'b', 'c']) log.push(frame);
  expect(log.last).toBe(3);
  expect(log.after(0)).toEqual(['a', 'b', 'c']);
  expect(log.after(2)).toEqual(['c']);
  expect(log.after(3)).toEqual([]);
});

test('a count beyond what was sent, or not a whole number, cannot be resumed', () => {
  const log = new ResumeLog(10, 1000);
  log.push('a');
  expect(log.after(2)).toBeUndefined();
  expect(log.after(0.5)).toBeUndefined();
});

test('holds at most maxFrames frames and maxChars characters; frames dropped from the front cannot be resumed', () => {
  const byCount = new ResumeLog(3, 1000);
  for (const frame of ['a', 'b', 'c', 'd', 'e']) byCount.push(frame);
  expect(byCount.after(2)).toEqual(['c', 'd', 'e']);
  expect(byCount.after(1)).toBeUndefined();

  const bySize = new ResumeLog(100, 10);
  for (const frame of ['aaaa', 'bbbb', 'cccc']) bySize.push(frame);
  expect(bySize.after(1)).toEqual(['bbbb', 'cccc']);
  expect(bySize.after(0)).toBeUndefined();
  // One frame larger than the whole budget is still kept (the newest is never dropped).
  bySize.push('x'.repeat(50));
  expect(bySize.after(3)).toEqual(['x'.repeat(50)]);
});
