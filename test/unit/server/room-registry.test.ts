import { afterEach, beforeEach, expect, test, vi } from 'vitest';
import { RoomRegistry } from '../../../server/room-api/room-registry.js';

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

const settings = { maxParticipants: 3, emptyTimeoutSeconds: 10, metadata: 'm' };

test('an API-created room is kept while empty for its timeout, which a join stops and the last leave starts again', () => {
  const expired: string[] = [];
  const registry = new RoomRegistry((room) => expired.push(room));
  expect(registry.create({ name: 'r', ...settings }, false).created).toBe(true);
  expect(registry.create({ name: 'r', ...settings, metadata: 'other' }, false)).toMatchObject({ created: false, record: { metadata: 'm' } });
  expect(registry.settings('r')).toEqual({ maxParticipants: 3, metadata: 'm' });
  vi.advanceTimersByTime(9_000);
  registry.opened('r');
  expect(registry.emptyTimers).toBe(0);
  vi.advanceTimersByTime(60_000);
  expect(expired).toEqual([]);
  registry.emptied('r');
  expect(registry.keepsEmpty('r')).toBe(true);
  vi.advanceTimersByTime(10_000);
  expect(expired).toEqual(['r']);
  expect(registry.size).toBe(0);
  expect(registry.emptyTimers).toBe(0);
});

test('a room opened by a join is forgotten when it empties; removing or closing leaves no record and no timer', () => {
  const expired: string[] = [];
  const registry = new RoomRegistry((room) => expired.push(room));
  registry.opened('joined');
  expect(registry.get('joined')).toMatchObject({ createdBy: 'join', emptyTimeoutSeconds: 0, maxParticipants: 0, metadata: '' });
  expect(registry.keepsEmpty('joined')).toBe(false);
  registry.setMetadata('joined', 'x');
  expect(registry.settings('joined')?.metadata).toBe('x');
  registry.emptied('joined');
  expect(registry.get('joined')).toBeUndefined();

  registry.create({ name: 'deleted', ...settings }, false);
  registry.remove('deleted');
  registry.create({ name: 'open', ...settings }, false);
  registry.close();
  registry.close();
  registry.opened('late');
  expect(registry.size).toBe(0);
  expect(vi.getTimerCount()).toBe(0);
  expect(expired).toEqual([]);
});
