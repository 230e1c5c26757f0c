import { expect, test } from 'vitest';
import { ActiveSpeakers, type ActiveSpeaker } from '../../../client/sdk/active-speakers.js';
import { RemoteParticipant } from '../../../client/sdk/participant.js';

const participant = (identity: string) => new RemoteParticipant({ identity, sid: `PA_${identity}`, joinedAt: 0, tracks: [], permissions: { canPublish: true, canSubscribe: true, canPublishData: true, canUpdateOwnMetadata: false, roomAdmin: false } });

test("the server's speakers become RemoteParticipants in its order, this client marked local, unknown identities left out", () => {
  const events: ActiveSpeaker[][] = [];
  const speakers = new ActiveSpeakers((list) => events.push(list));
  const ann = participant('ann');
  const participants = new Map([['ann', ann]]);
  speakers.update([{ identity: 'me', level: 0.2 }, { identity: 'ann', level: 0.05 }, { identity: 'ghost', level: 0.01 }], 'me', participants);
  expect(events).toEqual([
    [
      { identity: 'me', level: 0.2, participant: undefined, isLocal: true },
      { identity: 'ann', level: 0.05, participant: ann, isLocal: false },
    ],
  ]);
  expect(speakers.list.map((s) => s.identity)).toEqual(['me', 'ann']);
  // A listener keeping the array does not see later changes in it.
  speakers.update([], 'me', participants);
  expect(events[0]).toHaveLength(2);
  expect(speakers.list).toEqual([]);
});

test('clear() empties the list once, with one event, and none when already empty', () => {
  const events: ActiveSpeaker[][] = [];
  const speakers = new ActiveSpeakers((list) => events.push(list));
  speakers.clear();
  expect(events).toEqual([]);
  speakers.update([{ identity: 'ann', level: 0.1 }], 'me', new Map([['ann', participant('ann')]]));
  speakers.clear();
  speakers.clear();
  expect(events.map((e) => e.length)).toEqual([1, 0]);
});
