import { expect, test } from 'vitest';
import { ActiveSpeakerDetector, levelOfDb, SPEAKING_START_DB, SPEAKING_STOP_DB, type LevelSample } from '../../../sfu/media/active-speaker-detector.js';
import { AMPLITUDE_OF_LEVEL, audioLevelOf, AudioLevelMeter } from '../../../sfu/media/audio-level.js';
import type { ActiveSpeaker } from '../../../sfu/sfu-types.js';

const TICK_MS = 250;
/** Packets per 250 ms tick at Opus's 20 ms frames. */
const PACKETS = 12;

/** A tick's sample of `packets` packets all at `level` (-dBov, RFC 6464), or some at `level` and the rest silent. */
function sample(level: number, loud = PACKETS, packets = PACKETS): LevelSample {
  const meter = new AudioLevelMeter();
  for (let i = 0; i < packets; i++) meter.observe(i < loud ? level : 127);
  return { packets: meter.packets, amplitudeSum: meter.amplitudeSum };
}

/** Runs ticks of `levels` (identity → its level each tick, undefined: no packets), recording each update returned. */
function run(detector: ActiveSpeakerDetector, ticks: number, levels: Record<string, number | undefined>): (ActiveSpeaker[] | undefined)[] {
  const updates: (ActiveSpeaker[] | undefined)[] = [];
  for (let i = 0; i < ticks; i++) {
    const samples = new Map<string, LevelSample>();
    for (const [identity, level] of Object.entries(levels)) if (level !== undefined) samples.set(identity, sample(level));
    updates.push(detector.update(samples, TICK_MS));
  }
  return updates;
}

const identities = (speakers: ActiveSpeaker[] | undefined) => speakers?.map((s) => s.identity);

test('the level element is found by its negotiated id, its V bit ignored; absent or empty it reads -1', () => {
  const extensions = [
    { id: 3, payload: Buffer.from([0x12, 0x34]) },
    { id: 1, payload: Buffer.from([0x80 | 25]) },
  ];
  expect(audioLevelOf(extensions, 1)).toBe(25);
  expect(audioLevelOf([{ id: 1, payload: Buffer.from([40]) }], 1)).toBe(40);
  expect(audioLevelOf(extensions, 5)).toBe(-1);
  expect(audioLevelOf([{ id: 1, payload: Buffer.alloc(0) }], 1)).toBe(-1);
  expect(audioLevelOf([], 1)).toBe(-1);
  expect(AMPLITUDE_OF_LEVEL[0]).toBe(1);
  expect(AMPLITUDE_OF_LEVEL[20]).toBeCloseTo(0.1, 10);
});

test('a loud, a quiet and a silent participant: the loud one first, the silent one never listed', () => {
  const detector = new ActiveSpeakerDetector();
  const updates = run(detector, 8, { loud: 15, quiet: 35, silent: 127 });
  // Both voices are over the threshold from the first tick: one update, then nothing while nothing changes.
  expect(identities(updates[0])).toEqual(['loud', 'quiet']);
  expect(updates.slice(1).every((u) => u === undefined)).toBe(true);
  expect(detector.speakers[0].level).toBeCloseTo(levelOfDb(-15), 3);
  expect(detector.speakers[1].level).toBeCloseTo(levelOfDb(-35), 3);
});

test('speaking starts at the threshold, and a voice near it does not flap: it stops only under the lower one', () => {
  const detector = new ActiveSpeakerDetector();
  // Just under the start threshold: never listed.
  expect(run(detector, 6, { a: -SPEAKING_START_DB + 1 }).every((u) => u === undefined)).toBe(true);
  // At it (once the ~500 ms average holds nothing quieter).
  expect(run(detector, 2, { a: -SPEAKING_START_DB }).map(identities)).toEqual([undefined, ['a']]);
  // Between the two thresholds, for 4 s: still speaking; one update for its level, which fell by 3 dB.
  const between = Math.round((SPEAKING_START_DB + SPEAKING_STOP_DB) / 2);
  const updates = run(detector, 16, { a: -between }).filter((u) => u !== undefined);
  expect(updates.map(identities)).toEqual([['a']]);
  expect(identities(detector.speakers)).toEqual(['a']);
  // Under the lower threshold: out.
  expect(run(detector, 4, { a: -SPEAKING_STOP_DB + 3 }).filter((u) => u !== undefined).at(-1)).toEqual([]);
});

test('pauses between words keep a speaker; one who falls quiet drops out within a second, one who mutes at once', () => {
  const detector = new ActiveSpeakerDetector();
  // Speech at -25 dBov with a quarter of each tick silent and a whole tick of the room's noise (-80) every fourth.
  for (let i = 0; i < 16; i++) {
    const s = i % 4 === 3 ? sample(80) : sample(25, 9);
    const update = detector.update(new Map([['a', s]]), TICK_MS);
    if (i === 0) expect(identities(update)).toEqual(['a']);
    else expect(update?.length ?? 1).toBe(1);
  }
  // Only the room's noise: out within 4 ticks.
  const updates = run(detector, 6, { a: 80 });
  const out = updates.findIndex((u) => u !== undefined && u.length === 0);
  expect(out).toBeGreaterThanOrEqual(0);
  expect((out + 1) * TICK_MS).toBeLessThanOrEqual(1000);
  // Speaking again, then muted (every packet at 127, digital silence): out at the first such tick.
  run(detector, 2, { a: 15 });
  expect(identities(detector.speakers)).toEqual(['a']);
  expect(run(detector, 1, { a: 127 })[0]).toEqual([]);
});

test('a muted or paused publisher (no packets) drops out as soon as its averaged samples hold none', () => {
  const detector = new ActiveSpeakerDetector();
  run(detector, 4, { a: 20, b: 30 });
  expect(identities(detector.speakers)).toEqual(['a', 'b']);
  const updates = run(detector, 2, { a: undefined, b: 30 });
  // The first tick without packets still averages the previous one's; the second has none at all.
  expect(updates[0]).toBeUndefined();
  expect(identities(updates[1])).toEqual(['b']);
});

test('the order switches when the loud one stops and the quiet one speaks up, within a second', () => {
  const detector = new ActiveSpeakerDetector();
  run(detector, 4, { a: 15, b: 40 });
  expect(identities(detector.speakers)).toEqual(['a', 'b']);
  const updates = run(detector, 8, { a: 127, b: 20 });
  const switched = updates.findIndex((u) => u !== undefined && u[0].identity === 'b');
  expect(switched).toBeGreaterThanOrEqual(0);
  expect((switched + 1) * TICK_MS).toBeLessThanOrEqual(1000);
  expect(identities(detector.speakers)).toEqual(['b']);
});

test('two voices within the margin keep their order; a level that moves a little sends nothing', () => {
  const detector = new ActiveSpeakerDetector();
  run(detector, 2, { a: 30, b: 31 });
  expect(identities(detector.speakers)).toEqual(['a', 'b']);
  // b louder than a by 2 dB (under the 3 dB margin), for 2 s: same order, and no update (levels moved by 2 dB).
  const updates = run(detector, 8, { a: 31, b: 29 });
  expect(updates.every((u) => u === undefined)).toBe(true);
  // By 6 dB: b goes first.
  expect(identities(run(detector, 1, { a: 33, b: 27 })[0])).toEqual(['b', 'a']);
  // A level moved by 3 dB or more is an update, in the same order.
  const louder = run(detector, 1, { a: 33, b: 22 })[0];
  expect(identities(louder)).toEqual(['b', 'a']);
});

test('a newcomer louder than everyone goes first; the list is never longer than those speaking', () => {
  const detector = new ActiveSpeakerDetector();
  run(detector, 2, { a: 30, b: 35 });
  const update = run(detector, 1, { a: 30, b: 35, c: 10, d: 127 })[0];
  expect(identities(update)).toEqual(['c', 'a', 'b']);
});
