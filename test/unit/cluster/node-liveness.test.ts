import { expect, test } from 'vitest';
import { judgeLiveness } from '../../../cluster/node-liveness.js';

const heartbeatMs = 1000;

test("a node whose key expired is dead; one whose connection to Redis is open is alive until then, however long it has been silent (frozen, not dead)", () => {
  expect(judgeLiveness({ registered: false, silentMs: 0, subscribed: true }, true, heartbeatMs)).toEqual({ state: 'dead' });
  expect(judgeLiveness({ registered: true, silentMs: 2900, subscribed: true }, true, heartbeatMs)).toEqual({ state: 'alive' });
});

test('a node whose connection closed is dying until it is late for a heartbeat by half, then dead', () => {
  expect(judgeLiveness({ registered: true, silentMs: 0, subscribed: false }, true, heartbeatMs)).toEqual({ state: 'dying', deadInMs: 1500 });
  expect(judgeLiveness({ registered: true, silentMs: 1200, subscribed: false }, true, heartbeatMs)).toEqual({ state: 'dying', deadInMs: 300 });
  expect(judgeLiveness({ registered: true, silentMs: 1501, subscribed: false }, true, heartbeatMs)).toEqual({ state: 'dead' });
});

test("when this node cannot see its own subscription (no pub/sub through this store), only the key's expiry counts", () => {
  expect(judgeLiveness({ registered: true, silentMs: 2900, subscribed: false }, false, heartbeatMs)).toEqual({ state: 'alive' });
  expect(judgeLiveness({ registered: false, silentMs: 0, subscribed: false }, false, heartbeatMs)).toEqual({ state: 'dead' });
});
