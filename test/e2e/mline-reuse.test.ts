import { expect, test } from 'vitest';
import type { RunningServer } from '../../server/app.js';
import type { LaunchedChromium } from '../helpers/chromium.js';
import { useBrowserSuite } from '../helpers/browser-suite.js';
import { BrowserParticipant, eventually, type InboundSnapshot } from '../helpers/browser-participant.js';

let server: RunningServer;
let browser: LaunchedChromium;
const people: BrowserParticipant[] = [];
/** Console errors of every page, by identity: printed when the test fails. */
const consoleErrors: string[] = [];

useBrowserSuite(people, (s, b) => {
  server = s;
  browser = b;
});

const ROOM = 'mline-reuse-e2e';

/** One m-line of a session description. */
interface Section {
  kind: string;
  port: number;
  mid?: string;
  direction?: string;
  /** The track id of its a=msid (the SFU's published track id). */
  trackId?: string;
}

/** The m-lines of an SDP, in order. */
function sections(sdp: string): Section[] {
  return sdp
    .split(/\r?\n(?=m=)/)
    .slice(1)
    .map((text) => {
      const lines = text.split(/\r?\n/);
      const [kind = '', port = ''] = lines[0].slice(2).split(' ');
      const section: Section = { kind, port: Number.parseInt(port, 10) };
      for (const line of lines) {
        if (line.startsWith('a=mid:')) section.mid = line.slice(6);
        else if (line.startsWith('a=msid:')) section.trackId = line.slice(7).split(' ')[1];
        else if (/^a=(sendrecv|sendonly|recvonly|inactive)$/.test(line)) section.direction = line.slice(2);
      }
      return section;
    });
}

interface SubscriberView {
  /** The subscriber connection's current remote description (the SFU's last answered offer). */
  remoteSdp: string;
  signalingState: string;
  connectionState: string;
  transceivers: { mid: string | null; currentDirection: string | null; receiverTrackId: string; receiverTrackState: string }[];
}

/** The SDK's subscriber RTCPeerConnection (Room.subscriber.transport.pc; private in TypeScript only), as seen in the page. */
function subscriberView(p: BrowserParticipant): Promise<SubscriberView> {
  return p.page.evaluate(() => {
    const w = window as unknown as { __room: { subscriber?: { transport?: { pc?: RTCPeerConnection } } }; __pcs: RTCPeerConnection[] };
    // Fallback: the one connection the server offers on.
    const pc = w.__room.subscriber?.transport?.pc ?? w.__pcs.find((c) => c.currentRemoteDescription?.type === 'offer');
    if (!pc) throw new Error('no subscriber RTCPeerConnection in the page');
    return {
      remoteSdp: pc.currentRemoteDescription?.sdp ?? '',
      signalingState: pc.signalingState,
      connectionState: pc.connectionState,
      transceivers: pc.getTransceivers().map((t) => ({
        mid: t.mid,
        currentDirection: t.currentDirection,
        receiverTrackId: t.receiver.track.id,
        receiverTrackState: t.receiver.track.readyState,
      })),
    };
  });
}

interface Diagnostics {
  /** Room 'error' and 'disconnected' events. */
  roomEvents: unknown[];
  /** connectionState / iceConnectionState changes of every peer connection. */
  states: string[];
  /** Every setRemoteDescription / setLocalDescription that Chromium rejected, with the description it was given. */
  sdpErrors: { call: string; name: string; message: string; sdp?: string }[];
}

/** Records, in the page, everything that would tell the teacher's connection went wrong. */
function watchForErrors(p: BrowserParticipant): Promise<void> {
  p.page.on('console', (msg) => {
    if (msg.type() === 'error') consoleErrors.push(`[${p.identity}] ${msg.text()}`);
  });
  return p.page.evaluate(() => {
    type Room = { on(event: string, listener: (...args: unknown[]) => void): void };
    const w = window as unknown as { __room: Room; __pcs: RTCPeerConnection[]; __diag: Diagnostics };
    const diag: Diagnostics = { roomEvents: [], states: [], sdpErrors: [] };
    w.__diag = diag;
    w.__room.on('error', (e) => diag.roomEvents.push({ type: 'error', ...(e as object) }));
    w.__room.on('disconnected', (e) => diag.roomEvents.push({ type: 'disconnected', ...(e as object) }));
    w.__pcs.forEach((pc, i) => {
      pc.addEventListener('connectionstatechange', () => diag.states.push(`pc${i} connectionState ${pc.connectionState}`));
      pc.addEventListener('iceconnectionstatechange', () => diag.states.push(`pc${i} iceConnectionState ${pc.iceConnectionState}`));
      for (const call of ['setRemoteDescription', 'setLocalDescription'] as const) {
        const original = pc[call].bind(pc) as (d?: RTCSessionDescriptionInit) => Promise<void>;
        pc[call] = (async (description?: RTCSessionDescriptionInit) => {
          try {
            await original(description);
          } catch (err) {
            const e = err as Error;
            diag.sdpErrors.push({ call: `pc${i}.${call}`, name: e?.name, message: String(e?.message ?? err), sdp: description?.sdp });
            throw err;
          }
        }) as RTCPeerConnection[typeof call];
      }
    });
  });
}

function diagnostics(p: BrowserParticipant): Promise<Diagnostics> {
  return p.page.evaluate(() => (window as unknown as { __diag: Diagnostics }).__diag);
}

/** trackId (the SFU's) → MediaStreamTrack id in the teacher's page, from its trackSubscribed events. */
async function subscribedTracks(p: BrowserParticipant): Promise<Map<string, string>> {
  const events = await p.events<{ trackId: string; trackIdentifier: string }>('trackSubscribed');
  return new Map(events.map((e) => [e.trackId, e.trackIdentifier]));
}

/** The teacher decodes `videoTrackId`'s video and receives `audioTrackId`'s audio (inbound-rtp of those very tracks). */
async function receives(p: BrowserParticipant, videoTrackId: string, audioTrackId: string, what: string): Promise<InboundSnapshot[]> {
  let local = await subscribedTracks(p);
  return eventually(
    async () => {
      local = await subscribedTracks(p);
      return p.inbound();
    },
    (stats) =>
      stats.some((s) => s.kind === 'video' && s.trackIdentifier === local.get(videoTrackId) && s.framesDecoded > 5 && s.frameWidth > 0) &&
      stats.some((s) => s.kind === 'audio' && s.trackIdentifier === local.get(audioTrackId) && s.packetsReceived > 0),
    30_000,
    what,
  );
}

function publishedTrackIds(identity: string): { video: string; audio: string } {
  const tracks = [...server.sfu.room(ROOM).participant(identity)!.publishedTracks.values()];
  const video = tracks.find((t) => t.kind === 'video');
  const audio = tracks.find((t) => t.kind === 'audio');
  if (!video || !audio) throw new Error(`${identity} has not published a camera and a microphone`);
  return { video: video.id, audio: audio.id };
}

const teacherLines = () => server.sfu.findRoom(ROOM)?.participant('teacher')?.subscriber.mediaLineCount;

test('a student who joins after another left reuses the m-lines the first one left at the teacher', async () => {
  try {
    const media = { width: 320, height: 240 };
    const teacher = await BrowserParticipant.join(browser, server, ROOM, 'teacher', media);
    people.push(teacher);
    await watchForErrors(teacher);

    // Student A joins and publishes; the teacher decodes A's video and receives A's audio.
    const studentA = await BrowserParticipant.join(browser, server, ROOM, 'student-a', media);
    people.push(studentA);
    await eventually(async () => server.sfu.room(ROOM).participant('student-a')!.publishedTracks.size, (n) => n === 2, 15_000, 'student A published');
    const aTracks = publishedTrackIds('student-a');
    await receives(teacher, aTracks.video, aTracks.audio, 'teacher receives student A');
    const aLocal = await subscribedTracks(teacher);
    const aTrackIdentifiers = [aLocal.get(aTracks.video)!, aLocal.get(aTracks.audio)!];

    // The teacher's subscriber connection while A is there: the data channels' m-line, then A's audio and video.
    const withA = await eventually(
      () => subscriberView(teacher),
      (v) => v.signalingState === 'stable' && sections(v.remoteSdp).filter((s) => s.port !== 0 && s.trackId !== undefined).length === 2,
      10_000,
      'teacher subscriber stable with A',
    );
    const sectionsWithA = sections(withA.remoteSdp);
    const aVideoIndex = sectionsWithA.findIndex((s) => s.trackId === aTracks.video);
    const aAudioIndex = sectionsWithA.findIndex((s) => s.trackId === aTracks.audio);
    expect(aVideoIndex).toBeGreaterThan(0);
    expect(aAudioIndex).toBeGreaterThan(0);
    expect(sectionsWithA[aVideoIndex]).toMatchObject({ kind: 'video', direction: 'sendonly' });
    expect(sectionsWithA[aAudioIndex]).toMatchObject({ kind: 'audio', direction: 'sendonly' });
    const mLinesWithA = sectionsWithA.length;
    const transceiversWithA = withA.transceivers.length;
    expect(mLinesWithA).toBe(3); // application, and A's audio and video
    expect(transceiversWithA).toBe(2);
    expect(teacherLines()).toBe(2);
    const aMids = [sectionsWithA[aVideoIndex].mid, sectionsWithA[aAudioIndex].mid];

    // Student A leaves: the teacher is told, A's tracks are unsubscribed.
    await studentA.leave();
    await studentA.close();
    await eventually(() => teacher.events<{ identity: string }>('participantLeft'), (e) => e.some((x) => x.identity === 'student-a'), 10_000, 'teacher told A left');
    await eventually(
      () => teacher.events<{ trackId: string }>('trackUnsubscribed'),
      (e) => [aTracks.video, aTracks.audio].every((id) => e.some((x) => x.trackId === id)),
      10_000,
      'A unsubscribed at the teacher',
    );
    // The offer that stops A's m-lines keeps them in place with port 0, and the teacher has answered it: only
    // then may a new track take them (JSEP §5.2.2).
    const withoutA = await eventually(
      () => subscriberView(teacher),
      (v) => {
        const s = sections(v.remoteSdp);
        return v.signalingState === 'stable' && s[aVideoIndex]?.port === 0 && s[aAudioIndex]?.port === 0;
      },
      10_000,
      "teacher answered the offer stopping A's m-lines",
    );
    const sectionsWithoutA = sections(withoutA.remoteSdp);
    expect(sectionsWithoutA).toHaveLength(mLinesWithA);
    expect(sectionsWithoutA[aVideoIndex]).toMatchObject({ kind: 'video', port: 0, mid: aMids[0], direction: 'inactive' });
    expect(sectionsWithoutA[aAudioIndex]).toMatchObject({ kind: 'audio', port: 0, mid: aMids[1], direction: 'inactive' });
    expect(teacherLines()).toBe(2);

    // Student B joins and publishes.
    const studentB = await BrowserParticipant.join(browser, server, ROOM, 'student-b', media);
    people.push(studentB);
    await eventually(async () => server.sfu.room(ROOM).participant('student-b')!.publishedTracks.size, (n) => n === 2, 15_000, 'student B published');
    const bTracks = publishedTrackIds('student-b');

    // (1) The teacher decodes B's video and receives B's audio.
    const stats = await receives(teacher, bTracks.video, bTracks.audio, 'teacher receives student B');
    const bLocal = await subscribedTracks(teacher);
    const bVideo = stats.find((s) => s.trackIdentifier === bLocal.get(bTracks.video))!;
    expect(bVideo.framesDecoded).toBeGreaterThan(0);
    expect(bVideo.frameWidth).toBe(320);
    // B's video keeps coming: frames decoded rise.
    await eventually(
      () => teacher.inbound(),
      (s) => s.some((v) => v.trackIdentifier === bVideo.trackIdentifier && v.framesDecoded > bVideo.framesDecoded + 10),
      15_000,
      "teacher's frames of B rising",
    );
    // The <video> the page rendered B's track in plays it.
    await teacher.page.waitForFunction(
      (trackId) => (document.querySelector(`video[data-track-id="${trackId}"]`) as HTMLVideoElement | null)?.videoWidth === 320,
      bTracks.video,
      { timeout: 15_000 },
    );

    // (2) B's tracks took the m-lines A left, with new mids: as many m-lines and transceivers as while A was there.
    const withB = await subscriberView(teacher);
    expect(withB.signalingState).toBe('stable');
    const sectionsWithB = sections(withB.remoteSdp);
    expect(sectionsWithB).toHaveLength(mLinesWithA);
    expect(withB.transceivers).toHaveLength(transceiversWithA);
    expect(teacherLines()).toBe(2);
    expect(sectionsWithB[aVideoIndex]).toMatchObject({ kind: 'video', direction: 'sendonly', trackId: bTracks.video });
    expect(sectionsWithB[aAudioIndex]).toMatchObject({ kind: 'audio', direction: 'sendonly', trackId: bTracks.audio });
    expect(sectionsWithB[aVideoIndex].port).not.toBe(0);
    expect(sectionsWithB[aAudioIndex].port).not.toBe(0);
    for (const mid of [sectionsWithB[aVideoIndex].mid, sectionsWithB[aAudioIndex].mid]) expect(aMids).not.toContain(mid);
    expect(sectionsWithB.filter((s) => s.port === 0)).toHaveLength(0);
    for (const t of withB.transceivers) expect(t).toMatchObject({ currentDirection: 'recvonly', receiverTrackState: 'live' });

    // The teacher sees nothing of A any more: not in the room, no element, no m-line, no receiver carrying its tracks.
    const roster = await teacher.page.evaluate(() =>
      [...(window as unknown as { __room: { participants: Map<string, { identity: string; tracks: Map<string, unknown> }> } }).__room.participants.values()].map((r) => ({
        identity: r.identity,
        tracks: [...r.tracks.keys()],
      })),
    );
    expect(roster).toEqual([{ identity: 'student-b', tracks: expect.arrayContaining([bTracks.video, bTracks.audio]) }]);
    expect(roster[0].tracks).toHaveLength(2);
    const elements = await teacher.page.evaluate(() => Array.from(document.querySelectorAll('[data-track-id]')).map((e) => (e as HTMLElement).dataset.trackId));
    expect(elements.sort()).toEqual([bTracks.video, bTracks.audio].sort());
    expect(sectionsWithB.map((s) => s.trackId)).not.toContain(aTracks.video);
    expect(sectionsWithB.map((s) => s.trackId)).not.toContain(aTracks.audio);
    for (const t of withB.transceivers) expect(aTrackIdentifiers).not.toContain(t.receiverTrackId);

    // (3) Nothing went wrong at the teacher: no SDK error, no rejected description, no failed connection.
    const diag = await diagnostics(teacher);
    expect(diag.sdpErrors).toEqual([]);
    expect(diag.roomEvents).toEqual([]);
    expect(diag.states.filter((s) => /failed|disconnected|closed/.test(s))).toEqual([]);
    expect(withB.connectionState).toBe('connected');
    expect(consoleErrors.filter((e) => e.startsWith('[teacher]') && /RTCPeerConnection|SessionDescription|SDP|m-line|mid/i.test(e))).toEqual([]);
  } catch (error) {
    // What Chromium said, for the report: rejected descriptions with their SDP, console errors, connection states.
    const teacher = people[0];
    if (teacher) {
      const diag = await diagnostics(teacher).catch(() => undefined);
      console.error('teacher diagnostics:', JSON.stringify(diag, null, 2));
      const view = await subscriberView(teacher).catch(() => undefined);
      console.error('teacher subscriber:', JSON.stringify(view, null, 2));
    }
    console.error('console errors:', consoleErrors.join('\n'));
    throw error;
  }
});
