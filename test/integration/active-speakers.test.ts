import { afterAll, afterEach, beforeAll, expect, test } from 'vitest';
import type { RunningServer } from '../../server/app.js';
import { reportMeasurement } from '../helpers/bench-report.js';
import { Bot, waitUntil } from '../helpers/bot.js';
import { metricTotal, startTestServer } from '../helpers/server.js';

const ROOM = 'speakers';
let server: RunningServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.close();
});
/** Every bot a test joined, closed after it whatever its outcome (a failed test must not leave its room to the next). */
const joined: Bot[] = [];
afterEach(async () => {
  for (const bot of joined.splice(0)) await bot.close();
  await waitUntil(() => server.sfu.rooms.size === 0, 10_000, 'rooms closed');
});

async function join(room: string, identity: string): Promise<Bot> {
  const bot = await Bot.join(server.signalingUrl, room, identity);
  joined.push(bot);
  return bot;
}

const latest = (bot: Bot) => bot.activeSpeakers.at(-1)?.speakers.map((s) => s.identity) ?? [];

/** Waits until every bot's latest `activeSpeakers` satisfies `done`; returns, per bot, when the message that did arrived. */
async function everyoneSees(bots: Bot[], done: (identities: string[]) => boolean, what: string): Promise<number[]> {
  await waitUntil(() => bots.every((bot) => done(latest(bot))), 5000, what);
  return bots.map((bot) => {
    // The first of the latest run of messages that satisfy it.
    let first = bot.activeSpeakers.length - 1;
    while (first > 0 && done(bot.activeSpeakers[first - 1].speakers.map((s) => s.identity))) first--;
    return bot.activeSpeakers[first].at;
  });
}

test('everyone hears who speaks, the loudest first; the order follows a switch within a second, and a mute empties the list', async () => {
  const names = ['loud', 'quiet', 'silent'];
  const bots: Bot[] = [];
  for (const name of names) bots.push(await join(ROOM, name));
  const [loud, quiet, silent] = bots;
  for (const bot of bots) await bot.publish({ videoKbps: 100 });
  for (const bot of bots) await bot.receivesTracks(4, 10);
  // Everyone has sent silence (level 127) for a while: nobody is listed.
  expect(bots.every((bot) => latest(bot).length === 0)).toBe(true);

  const updatesBefore = await metricTotal(server, 'tsfu_sfu_active_speaker_updates_total');
  let started = performance.now();
  loud.audioLevel = 15; // -15 dBov: a close voice
  quiet.audioLevel = 35; // -35 dBov: a distant one
  const heard = await everyoneSees(bots, (ids) => ids.join() === 'loud,quiet', 'loud, then quiet');
  const startDelays = heard.map((at) => Math.round(at - started));
  reportMeasurement('active_speaker_start_delay_ms_max', Math.max(...startDelays));
  // Levels as amplitudes: -15 dBov ≈ 0.178, -35 ≈ 0.0178, once the ~500 ms average holds only the voices; a level
  // is sent again only when it moves by 3 dB (x 1.41), so the one last sent may be that far under.
  const near = (level: number, dbov: number) => level <= 1.01 * 10 ** (-dbov / 20) && level >= 10 ** (-(dbov + 3) / 20);
  await waitUntil(() => {
    const [first, second] = loud.activeSpeakers.at(-1)!.speakers;
    return near(first.level, 15) && near(second.level, 35);
  }, 2000, 'levels of -15 and -35 dBov');
  expect(silent.activeSpeakers.every((m) => !m.speakers.some((s) => s.identity === 'silent'))).toBe(true);
  // The loudest speaker's camera goes first in allocation: its video track is marked, the others' are not.
  const room = server.sfu.room(ROOM);
  const videoOf = (identity: string) => [...room.participant(identity)!.publishedTracks.values()].find((t) => t.kind === 'video')!;
  // Once loud has stayed the loudest for the hold time (2 s).
  await waitUntil(() => videoOf('loud').activeSpeaker === true, 4000, "loud's camera given the speaker's priority");
  expect(videoOf('quiet').activeSpeaker).toBe(false);

  // The loud one stops talking (its microphone hears the room's noise, -70 dBov), the quiet one speaks up.
  started = performance.now();
  loud.audioLevel = 70;
  quiet.audioLevel = 20;
  const switched = await everyoneSees(bots, (ids) => ids[0] === 'quiet', 'quiet first');
  const switchDelays = switched.map((at) => Math.round(at - started));
  reportMeasurement('active_speaker_switch_delay_ms_max', Math.max(...switchDelays));
  expect(Math.max(...switchDelays)).toBeLessThanOrEqual(1500);
  await everyoneSees(bots, (ids) => ids.join() === 'quiet', 'quiet alone');
  // loud keeps the priority until quiet has been the loudest for the hold time.
  expect(videoOf('loud').activeSpeaker).toBe(true);
  await waitUntil(() => videoOf('quiet').activeSpeaker === true, 4000, "the priority moved to quiet's camera");
  expect(videoOf('loud').activeSpeaker).toBe(false);

  // A late joiner is told who speaks right after `joined`, without waiting for a change.
  const late = await join(ROOM, 'late');
  await waitUntil(() => latest(late).join() === 'quiet', 2000, 'the late joiner told quiet speaks');
  const types = late.signaling.messages.map((m) => m.type);
  expect(types.indexOf('activeSpeakers')).toBe(types.indexOf('joined') + 1);

  // The last speaker mutes (digital silence, level 127): the list empties, for everyone.
  started = performance.now();
  quiet.audioLevel = 127;
  const emptied = await everyoneSees([...bots, late], (ids) => ids.length === 0, 'nobody speaking');
  reportMeasurement('active_speaker_mute_delay_ms_max', Math.round(Math.max(...emptied) - started));
  // Updates only on changes, at most 4 a second: a handful for the whole scenario, counted once per room.
  const updates = (await metricTotal(server, 'tsfu_sfu_active_speaker_updates_total')) - updatesBefore;
  expect(updates).toBeGreaterThanOrEqual(3);
  expect(updates).toBeLessThan(20);
  expect(loud.activeSpeakers.length).toBe(updates);
});

test('a publisher whose audio stops (a paused sender: no packets at all) drops out of the list within a second', async () => {
  const a = await join('mute', 'a');
  const b = await join('mute', 'b');
  await a.publish({ video: false });
  await b.receivesTracks(1, 10);
  a.audioLevel = 20;
  await waitUntil(() => latest(b).join() === 'a', 5000, 'a speaking');
  // No more packets, not even silence.
  const stopped = performance.now();
  a.audioPaused = true;
  await waitUntil(() => latest(b).length === 0, 2000, 'a dropped out');
  const delay = b.activeSpeakers.at(-1)!.at - stopped;
  reportMeasurement('active_speaker_no_packets_drop_ms', Math.round(delay));
  expect(delay).toBeLessThan(1000);
  // Nothing is published any more that carries levels, and nobody speaks: the room's timer has stopped.
  expect(server.sfu.room('mute').activeSpeakerTimerRunning).toBe(true);
  const [trackId] = server.sfu.room('mute').participant('a')!.publishedTracks.keys();
  a.signaling.send({ type: 'unpublish', trackId });
  await waitUntil(() => !server.sfu.room('mute').activeSpeakerTimerRunning, 2000, "the room's active-speaker timer stopped");
});
