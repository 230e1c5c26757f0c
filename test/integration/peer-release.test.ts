import v8 from 'node:v8';
import vm from 'node:vm';
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { RTCPeerConnection } from 'werift';
import type { RunningServer } from '../../server/app.js';
import { Bot, waitUntil } from '../helpers/bot.js';
import { startTestServer } from '../helpers/server.js';

/** A full garbage collection: the worker's `gc` when it was started with --expose-gc, else one made for this test. */
function garbageCollector(): () => void {
  const exposed = (globalThis as { gc?: () => void }).gc;
  if (exposed) return exposed;
  v8.setFlagsFromString('--expose-gc');
  return vm.runInNewContext('gc') as () => void;
}

const collect = garbageCollector();
const LEAVES = 3;

let server: RunningServer;
let stayers: Bot[] = [];
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await Promise.all(stayers.map((b) => b.close()));
  await server?.close();
});

/**
 * The server's objects for `identity`, held weakly: the test itself must not keep them alive. Looked up in a
 * function of its own so no strong reference stays in the caller's frame.
 */
function weakServerSide(identity: string): { what: string; ref: WeakRef<object> }[] {
  const participant = server.sfu.rooms.get('release')?.participant(identity);
  if (!participant) throw new Error(`${identity} is not in the room`);
  const pc = (participant.subscriber as unknown as { pc: RTCPeerConnection }).pc;
  return [
    { what: 'Participant', ref: new WeakRef(participant) },
    { what: 'subscriber RTCPeerConnection', ref: new WeakRef(pc) },
  ];
}

/** One stay: joins, publishes audio and video, is received by everyone, leaves. */
async function visit(round: number): Promise<{ what: string; ref: WeakRef<object> }[]> {
  const visitor = await Bot.join(server.signalingUrl, 'release', 'visitor');
  const tracks = await visitor.publish();
  await visitor.receivesTracks(3, 5);
  // The stayers' subscriber connections carry the visitor's tracks: those m-lines are stopped when it leaves.
  const flowing = (bot: Bot) => tracks.every((id) => (bot.received.get(id)?.packets ?? 0) >= 5);
  await waitUntil(() => stayers.every(flowing), 15_000, `stay ${round}'s tracks reaching the stayers`);
  const refs = weakServerSide('visitor').map((r) => ({ ...r, what: `${r.what} of stay ${round}` }));
  await visitor.close();
  await waitUntil(() => server.sfu.rooms.get('release')?.participant('visitor') === undefined, 10_000, 'the visitor has left');
  return refs;
}

test('the peer connections of participants who left are garbage once the room no longer needs them', async () => {
  stayers = [await Bot.join(server.signalingUrl, 'release', 'host'), await Bot.join(server.signalingUrl, 'release', 'guest')];
  await stayers[0].publish();
  await stayers[1].publish({ video: false });
  await stayers[0].receivesTracks(1, 5);
  await stayers[1].receivesTracks(2, 5);

  const refs: { what: string; ref: WeakRef<object> }[] = [];
  for (let round = 0; round < LEAVES; round++) refs.push(...(await visit(round)));
  expect(refs).toHaveLength(2 * LEAVES);

  // werift finishes closing (DTLS alert, SCTP abort, socket close) asynchronously; then nothing may hold them.
  // A deref() keeps its target alive until the current task ends, so collections run in tasks of their own.
  const alive = () => refs.filter((r) => r.ref.deref() !== undefined).map((r) => r.what);
  const nextTask = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  const deadline = performance.now() + 10_000;
  let survivors = alive();
  while (survivors.length > 0 && performance.now() < deadline) {
    await nextTask(100);
    collect();
    await nextTask(0);
    survivors = alive();
  }
  expect(survivors).toEqual([]);
  // The room is still open and its stayers still connected: the departures were collected while the room lives.
  expect(server.sfu.rooms.get('release')?.participants.size).toBe(2);
});
