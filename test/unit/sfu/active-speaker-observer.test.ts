import { afterEach, expect, test, vi } from 'vitest';
import { AudioLevelMeter } from '../../../sfu/media/audio-level.js';
import type { PublishedTrack } from '../../../sfu/media/published-track.js';
import { ACTIVE_SPEAKER_TICK_MS, ActiveSpeakerObserver } from '../../../sfu/session/active-speaker-observer.js';
import type { ActiveSpeaker } from '../../../sfu/sfu-types.js';

afterEach(() => {
  vi.useRealTimers();
});

/** A published audio track whose meter a fake publisher fills with one packet of `level` every 20 ms. */
function speakingTrack(identity: string) {
  const meter = new AudioLevelMeter();
  const track = { publisherIdentity: identity, audioLevel: meter } as unknown as PublishedTrack;
  let level: number | undefined = 127;
  const timer = setInterval(() => level !== undefined && meter.observe(level), 20);
  return { track, setLevel: (value: number | undefined) => (level = value), stop: () => clearInterval(timer) };
}

test("a room's observer reports its speakers, and its timer stops once no audio is published and nobody speaks", () => {
  vi.useFakeTimers();
  const updates: ActiveSpeaker[][] = [];
  const observer = new ActiveSpeakerObserver((speakers) => updates.push(speakers));
  expect(observer.running).toBe(false);
  // A video track (no meter) starts nothing.
  observer.add({ publisherIdentity: 'v', audioLevel: undefined } as unknown as PublishedTrack);
  expect(observer.running).toBe(false);
  const a = speakingTrack('a');
  const b = speakingTrack('b');
  observer.add(a.track);
  observer.add(b.track);
  expect(observer.running).toBe(true);
  a.setLevel(20);
  b.setLevel(40);
  vi.advanceTimersByTime(4 * ACTIVE_SPEAKER_TICK_MS);
  expect(updates.at(-1)?.map((s) => s.identity)).toEqual(['a', 'b']);
  expect(observer.dominant).toBe('a');
  // a stops publishing: out of the list within two ticks.
  a.setLevel(undefined);
  observer.remove(a.track);
  vi.advanceTimersByTime(2 * ACTIVE_SPEAKER_TICK_MS);
  expect(observer.speakers.map((s) => s.identity)).toEqual(['b']);
  // The last track goes while b speaks: the timer runs on until the list is empty, then stops.
  observer.remove(b.track);
  expect(observer.running).toBe(true);
  vi.advanceTimersByTime(3 * ACTIVE_SPEAKER_TICK_MS);
  expect(updates.at(-1)).toEqual([]);
  expect(observer.running).toBe(false);
  a.stop();
  b.stop();
  observer.close();
});

test('close() stops the timer at once and is idempotent; a closed observer starts nothing', () => {
  vi.useFakeTimers();
  const observer = new ActiveSpeakerObserver(() => undefined);
  const a = speakingTrack('a');
  observer.add(a.track);
  expect(observer.running).toBe(true);
  observer.close();
  observer.close();
  expect(observer.running).toBe(false);
  const b = speakingTrack('b');
  observer.add(b.track);
  expect(observer.running).toBe(false);
  expect(vi.getTimerCount()).toBe(2); // only the fake publishers' own timers
  a.stop();
  b.stop();
});
