import { expect, test } from 'vitest';
import type { RunningServer } from '../../server/app.js';
import type { LaunchedChromium } from '../helpers/chromium.js';
import { useBrowserSuite } from '../helpers/browser-suite.js';
import { BrowserParticipant, eventually, type InboundSnapshot } from '../helpers/browser-participant.js';

let server: RunningServer;
let browser: LaunchedChromium;
const people: BrowserParticipant[] = [];

useBrowserSuite(people, (s, b) => {
  server = s;
  browser = b;
});

interface RemoteView {
  identity: string;
  sid: string;
  tracks: { trackId: string; streamId?: string; streamOwner?: string }[];
}

/** What a page's SDK knows of the others: identity, sid, and for each received track the stream it came in. */
function remoteViews(p: BrowserParticipant): Promise<RemoteView[]> {
  return p.page.evaluate(() => {
    type Info = { trackId: string; stream?: MediaStream };
    type Remote = { identity: string; sid: string; tracks: Map<string, Info> };
    const room = (window as unknown as { __room: { participants: Map<string, Remote>; participantForStream(s: MediaStream): Remote | undefined } }).__room;
    return [...room.participants.values()].map((r) => ({
      identity: r.identity,
      sid: r.sid,
      tracks: [...r.tracks.values()].map((t) => ({ trackId: t.trackId, streamId: t.stream?.id, streamOwner: t.stream ? room.participantForStream(t.stream)?.identity : undefined })),
    }));
  });
}

const decodedVideo = (stats: InboundSnapshot[]) => stats.filter((s) => s.kind === 'video' && s.framesDecoded > 5);
const audioFlowing = (stats: InboundSnapshot[]) => stats.filter((s) => s.kind === 'audio' && s.packetsReceived > 0);

test('identities with spaces, non-Latin scripts, emoji and CR/LF: everyone sees, hears and chats with everyone', async () => {
  // The teacher of issue 8 ("Ms Smith" broke every student's offer), a name in three scripts with emoji, and
  // an identity that tries to inject SDP lines.
  const identities = ['Ms Smith', 'Žofie 王小明 مريم 🦄', 'mallory\r\na=msid:x y\r\nm=audio 9 UDP/TLS/RTP/SAVPF 0'];
  for (const identity of identities) people.push(await BrowserParticipant.join(browser, server, 'names-e2e', identity, { width: 320, height: 240 }));

  for (const p of people) {
    await eventually(() => p.inbound(), (s) => decodedVideo(s).length >= 2 && audioFlowing(s).length >= 2, 60_000, `${JSON.stringify(p.identity)} decodes both others`);
    const views = await remoteViews(p);
    expect(views.map((v) => v.identity).sort()).toEqual(identities.filter((i) => i !== p.identity).sort());
    for (const view of views) {
      expect(view.sid).toMatch(/^PA_[A-Za-z0-9_-]+$/);
      expect(view.tracks).toHaveLength(2);
      // Both tracks of a publisher arrive in one stream (lip sync) named by its opaque sid, which maps back to it.
      for (const track of view.tracks) expect(track).toMatchObject({ streamId: view.sid, streamOwner: view.identity });
    }
  }

  // Chat both ways reaches everyone, tagged with the sender's exact identity.
  for (const sender of people) await sender.sendData(`hello from ${sender.identity}`, { topic: 'chat' });
  for (const p of people) {
    const data = await eventually(() => p.events<{ from: string; text: string }>('data'), (d) => d.length >= 2, 15_000, `${JSON.stringify(p.identity)} chat`);
    expect(data.map((d) => d.from).sort()).toEqual(identities.filter((i) => i !== p.identity).sort());
    for (const d of data) expect(d.text).toBe(`hello from ${d.from}`);
  }
});
