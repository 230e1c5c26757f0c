import { expect, test } from 'vitest';
import type { RunningServer } from '../../server/app.js';
import type { LaunchedChromium } from '../helpers/chromium.js';
import { useBrowserSuite } from '../helpers/browser-suite.js';
import { BrowserParticipant, eventually } from '../helpers/browser-participant.js';
import { waitUntil } from '../helpers/bot.js';

let server: RunningServer;
let browser: LaunchedChromium;
const people: BrowserParticipant[] = [];

useBrowserSuite(people, (s, b) => {
  server = s;
  browser = b;
});

/** Records the SDK's moderation events in the page's event list (window.__events). */
async function recordModerationEvents(p: BrowserParticipant): Promise<void> {
  await p.page.evaluate(() => {
    const w = window as unknown as { __room: any; __events: unknown[] };
    const events = w.__events;
    w.__room.on('localTrackMuted', (trackId: string, muted: boolean, by?: string) => events.push({ type: 'localTrackMuted', trackId, muted, by }));
    w.__room.on('unmuteRequested', (trackId: string, by: string) => events.push({ type: 'unmuteRequested', trackId, by }));
    w.__room.on('localTrackUnpublished', (trackId: string, reason: string) => events.push({ type: 'localTrackUnpublished', trackId, reason }));
    w.__room.on('localParticipantUpdated', (info: { permissions: unknown; metadata?: string }) => events.push({ type: 'localParticipantUpdated', permissions: info.permissions, metadata: info.metadata }));
    w.__room.on('participantUpdated', (p: { identity: string; metadata?: string }) => events.push({ type: 'participantUpdated', identity: p.identity, metadata: p.metadata }));
    w.__room.on('trackMuted', (info: { trackId: string; muted: boolean }, p: { identity: string }, muted: boolean, by?: string) =>
      events.push({ type: 'trackMuted', trackId: info.trackId, identity: p.identity, muted, infoMuted: info.muted, by }),
    );
  });
}

/** Calls a Room method in the page; resolves with `ok` or the error's code/name. */
function call(p: BrowserParticipant, method: string, ...args: unknown[]): Promise<string> {
  return p.page.evaluate(
    async ({ method, args }) => {
      const room = (window as unknown as { __room: Record<string, (...a: unknown[]) => Promise<unknown>> }).__room;
      try {
        await room[method](...args);
        return 'ok';
      } catch (error) {
        return (error as { code?: string; name: string }).code ?? (error as Error).name;
      }
    },
    { method, args },
  );
}

const localTrack = (p: BrowserParticipant, source: string) =>
  p.page.evaluate((source) => {
    const room = (window as unknown as { __room: { localTracks: Map<string, { trackId: string; source: string; muted: boolean; track: MediaStreamTrack }> } }).__room;
    const local = [...room.localTracks.values()].find((t) => t.source === source);
    return local && { trackId: local.trackId, muted: local.muted, enabled: local.track.enabled };
  }, source);

test('the SDK moderates: mute with the local track disabled, unmute request and accept, metadata, a source revoked, canPublish granted live, removal without reconnecting', async () => {
  const teacher = await BrowserParticipant.join(browser, server, 'moderation-e2e', 'teacher', { grants: { roomAdmin: true } });
  const student = await BrowserParticipant.join(browser, server, 'moderation-e2e', 'student', { grants: { canUpdateOwnMetadata: true } });
  const viewer = await BrowserParticipant.join(browser, server, 'moderation-e2e', 'viewer', { audio: false, video: false, grants: { canPublish: false } });
  people.push(teacher, student, viewer);
  for (const p of people) await recordModerationEvents(p);
  const microphone = (await localTrack(student, 'microphone'))!;
  const camera = (await localTrack(student, 'camera'))!;

  // A student cannot moderate; the promise rejects with the server's code.
  expect(await call(student, 'removeParticipant', 'teacher')).toBe('PERMISSION_DENIED');

  // The teacher mutes the student's microphone: the student's SDK disables the track; everyone else sees it muted.
  expect(await call(teacher, 'muteParticipantTrack', 'student', microphone.trackId, true)).toBe('ok');
  await eventually(() => student.events('localTrackMuted'), (e) => e.some((x) => x.trackId === microphone.trackId && x.muted && x.by === 'teacher'), 10_000, 'localTrackMuted');
  expect(await localTrack(student, 'microphone')).toMatchObject({ muted: true, enabled: false });
  await eventually(() => viewer.events('trackMuted'), (e) => e.some((x) => x.trackId === microphone.trackId && x.infoMuted === true && x.by === 'teacher'), 10_000, 'trackMuted');

  // An unmute request; the student accepts with localTrack.unmute().
  expect(await call(teacher, 'muteParticipantTrack', 'student', microphone.trackId, false)).toBe('ok');
  await eventually(() => student.events('unmuteRequested'), (e) => e.some((x) => x.trackId === microphone.trackId && x.by === 'teacher'), 10_000, 'unmuteRequested');
  await student.page.evaluate(async (trackId) => {
    const room = (window as unknown as { __room: { localTracks: Map<string, { unmute(): Promise<void> }> } }).__room;
    await room.localTracks.get(trackId)!.unmute();
  }, microphone.trackId);
  expect(await localTrack(student, 'microphone')).toMatchObject({ muted: false, enabled: true });
  await eventually(() => teacher.events('trackMuted'), (e) => e.some((x) => x.trackId === microphone.trackId && !x.muted && x.by === undefined), 10_000, 'unmuted');

  // The student raises a hand.
  expect(await call(student, 'setMetadata', '{"hand":true}')).toBe('ok');
  await eventually(() => teacher.events('participantUpdated'), (e) => e.some((x) => x.identity === 'student' && x.metadata === '{"hand":true}'), 10_000, 'hand raised');

  // The camera is taken away: the student's SDK stops sending it.
  expect(await call(teacher, 'updateParticipant', 'student', { permissions: { canPublishSources: ['microphone'] } })).toBe('ok');
  await eventually(() => student.events('localTrackUnpublished'), (e) => e.some((x) => x.trackId === camera.trackId && x.reason === 'permission'), 10_000, 'localTrackUnpublished');
  expect(await localTrack(student, 'camera')).toBeUndefined();
  expect(server.sfu.room('moderation-e2e').participant('student')!.publishedTracks.size).toBe(1);

  // The viewer may publish once granted, on the same session.
  expect(await viewer.page.evaluate(() => (window as unknown as { __room: { localParticipant: { permissions: { canPublish: boolean } } } }).__room.localParticipant.permissions.canPublish)).toBe(false);
  expect(await call(teacher, 'updateParticipant', 'viewer', { permissions: { canPublish: true } })).toBe('ok');
  await eventually(() => viewer.events('localParticipantUpdated'), (e) => e.some((x) => (x.permissions as { canPublish: boolean }).canPublish), 10_000, 'granted');
  const published = await viewer.page.evaluate(async () => {
    const room = (window as unknown as { __room: { publishMicrophone(): Promise<{ trackId: string }> } }).__room;
    return (await room.publishMicrophone()).trackId;
  });
  await waitUntil(() => server.sfu.room('moderation-e2e').participant('viewer')?.publishedTracks.has(published) === true, 10_000, 'the viewer publishing');

  // Removed: disconnected with 4013 and never reconnecting.
  expect(await call(teacher, 'removeParticipant', 'student')).toBe('ok');
  await eventually(() => student.events('disconnected'), (e) => e.some((x) => x.code === 4013 && x.reason === 'removed'), 10_000, 'removed');
  await eventually(() => teacher.events('participantLeft'), (e) => e.some((x) => x.identity === 'student' && x.reason === 'removed'), 10_000, 'participantLeft removed');
  await new Promise((r) => setTimeout(r, 1500)); // a reconnect would start within 250 ms (reconnect-policy.ts)
  expect(await student.events('reconnecting')).toEqual([]);
  expect(server.sfu.room('moderation-e2e').participants.has('student')).toBe(false);
});
