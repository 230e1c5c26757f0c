import { expect, test } from 'vitest';
import type { RunningServer } from '../../server/app.js';
import type { LaunchedChromium } from '../helpers/chromium.js';
import { useBrowserSuite } from '../helpers/browser-suite.js';
import { BrowserParticipant, eventually, type InboundSnapshot } from '../helpers/browser-participant.js';
import { waitUntil } from '../helpers/bot.js';

let server: RunningServer;
let browser: LaunchedChromium;
const people: BrowserParticipant[] = [];

useBrowserSuite(people, (s, b) => {
  server = s;
  browser = b;
});

const decodedVideo = (stats: InboundSnapshot[]) => stats.filter((s) => s.kind === 'video' && s.framesDecoded > 0);
const audioFlowing = (stats: InboundSnapshot[]) => stats.filter((s) => s.kind === 'audio' && s.packetsReceived > 0);

test('three browsers see and hear each other, exchange data, and one leaves cleanly', async () => {
  for (const identity of ['teacher', 'ann', 'ben']) {
    people.push(await BrowserParticipant.join(browser, server, 'classroom-e2e', identity));
  }
  const [teacher, ann, ben] = people;

  // Every participant decodes both remote videos and receives both remote audio tracks.
  for (const p of people) {
    const stats = await eventually(() => p.inbound(), (s) => decodedVideo(s).length >= 2 && audioFlowing(s).length >= 2, 30_000, `${p.identity} media`);
    const before = new Map(decodedVideo(stats).map((s) => [s.trackIdentifier, s.framesDecoded]));
    // framesDecoded keeps rising: the video is live, not a single key frame.
    await eventually(
      () => p.inbound(),
      (s) => decodedVideo(s).filter((v) => v.framesDecoded > (before.get(v.trackIdentifier) ?? 0) + 10).length >= 2,
      15_000,
      `${p.identity} frames rising`,
    );
  }

  // A data message from one arrives at the other two, tagged with the sender.
  await teacher.sendData('open your books', { topic: 'chat' });
  for (const p of [ann, ben]) {
    const data = await eventually(() => p.events<{ from: string; text: string }>('data'), (d) => d.length > 0, 10_000, `${p.identity} data`);
    expect(data[0]).toMatchObject({ from: 'teacher', text: 'open your books' });
  }
  expect(await teacher.events('data')).toHaveLength(0);

  // Ben leaves: the others are told, his tracks are unsubscribed, and his media stops.
  const bensTracks = [...server.sfu.room('classroom-e2e').participant('ben')!.publishedTracks.keys()];
  expect(bensTracks).toHaveLength(2);
  await ben.leave();
  for (const p of [teacher, ann]) {
    const left = await eventually(() => p.events<{ identity: string }>('participantLeft'), (e) => e.some((x) => x.identity === 'ben'), 10_000, 'participantLeft');
    expect(left.find((x) => x.identity === 'ben')).toBeDefined();
    const unsubscribed = await eventually(
      () => p.events<{ trackId: string }>('trackUnsubscribed'),
      (e) => bensTracks.every((id) => e.some((x) => x.trackId === id)),
      10_000,
      'trackUnsubscribed',
    );
    expect(unsubscribed.map((e) => e.trackId)).toEqual(expect.arrayContaining(bensTracks));
  }
  const dump = server.sfu.dump();
  expect(dump.participants).toBe(2);
  expect(dump.downTracks).toBe(4); // teacher and ann each receive the other's video and audio
  for (const p of [teacher, ann]) await p.leave();
  await waitUntil(() => server.sfu.rooms.size === 0, 10_000, 'room closed');
  expect(server.sfu.dump()).toMatchObject({ rooms: [], participants: 0, publishedTracks: 0, downTracks: 0, peerConnections: 0 });
  expect(server.signaling.joinedCount).toBe(0);
});
