import { afterAll, beforeAll, expect, test } from 'vitest';
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

test('everyone hears who speaks, the loudest first; the order follows a switch within a second, and silence empties the list', async () => {
  const names = ['loud', 'quiet', 'silent'];
  const bots: Bot[] = [];
  for (const name of names) bots.push(await Bot.join(server.signalingUrl, ROOM, name));
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
  // Levels as amplitudes: -15 dBov ≈ 0.18, -35 ≈ 0.018.
  const [first, second] = loud.activeSpeakers.at(-1)!.speakers;
  expect(first.level).toBeGreaterThan(0.1);
  expect(first.level).toBeLessThanOrEqual(0.2);
  expect(second.level).toBeGreaterThan(0.01);
  expect(second.level).toBeLessThan(0.03);
  expect(silent.activeSpeakers.every((m) => !m.speakers.some((s) => s.identity === 'silent'))).toBe(true);
  // The loudest speaker's camera goes first in allocation: its video track is marked, the others' are not.
  const room = server.sfu.room(ROOM);
  const videoOf = (identity: string) => [...room.participant(identity)!.publishedTracks.values()].find((t) => t.kind === 'video')!;
  expect(videoOf('loud').activeSpeaker).toBe(true);
  expect(videoOf('quiet').activeSpeaker).toBe(false);

  // The loud one stops, the quiet one speaks up.
  started = performance.now();
  loud.audioLevel = 127;
  quiet.audioLevel = 15;
  const switched = await everyoneSees(bots, (ids) => ids[0] === 'quiet', 'quiet first');
  const switchDelays = switched.map((at) => Math.round(at - started));
  reportMeasurement('active_speaker_switch_delay_ms_max', Math.max(...switchDelays));
  expect(Math.max(...switchDelays)).toBeLessThanOrEqual(1500);
  await everyoneSees(bots, (ids) => ids.join() === 'quiet', 'quiet alone');
  expect(videoOf('quiet').activeSpeaker).toBe(true);
  expect(videoOf('loud').activeSpeaker).toBe(false);

  // A late joiner is told who speaks right after `joined`, without waiting for a change.
  const late = await Bot.join(server.signalingUrl, ROOM, 'late');
  await waitUntil(() => latest(late).join() === 'quiet', 2000, 'the late joiner told quiet speaks');
  const types = late.signaling.messages.map((m) => m.type);
  expect(types.indexOf('activeSpeakers')).toBe(types.indexOf('joined') + 1);

  // Silence: the list empties, for everyone.
  started = performance.now();
  quiet.audioLevel = 127;
  const emptied = await everyoneSees([...bots, late], (ids) => ids.length === 0, 'nobody speaking');
  reportMeasurement('active_speaker_stop_delay_ms_max', Math.round(Math.max(...emptied) - started));
  // Updates only on changes, at most 4 a second: a handful for the whole scenario, counted once per room.
  const updates = (await metricTotal(server, 'tsfu_sfu_active_speaker_updates_total')) - updatesBefore;
  expect(updates).toBeGreaterThanOrEqual(3);
  expect(updates).toBeLessThan(20);
  expect(loud.activeSpeakers.length).toBe(updates);

  for (const bot of [...bots, late]) await bot.close();
  await waitUntil(() => server.sfu.rooms.size === 0, 10_000, 'room closed');
});

test('a publisher whose audio stops (a paused sender: no packets at all) drops out of the list within a second', async () => {
  const a = await Bot.join(server.signalingUrl, 'mute', 'a');
  const b = await Bot.join(server.signalingUrl, 'mute', 'b');
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
  const room = server.sfu.room('mute');
  await a.close();
  await b.close();
  await waitUntil(() => server.sfu.rooms.size === 0, 10_000, 'room closed');
  expect(room.activeSpeakerTimerRunning).toBe(false);
});
