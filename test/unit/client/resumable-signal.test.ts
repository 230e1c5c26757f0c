import { afterEach, expect, test, vi } from 'vitest';
import type { ClientMessage, ServerMessage } from '../../../signaling/messages.js';
import { ResumableSignal } from '../../../client/sdk/resumable-signal.js';
import type { SignalClient, SignalClientHandlers } from '../../../client/sdk/signal-client.js';

/** A socket stand-in: records what is sent; the test plays the server through its handlers. */
function fakeSocket() {
  const sent: ClientMessage[] = [];
  const closes: number[] = [];
  let open = true;
  const socket = {
    handlers: undefined as SignalClientHandlers | undefined,
    send: (msg: ClientMessage) => (open ? (sent.push(msg), true) : false),
    close: (code = 1000) => {
      closes.push(code);
      open = false;
    },
    receive: (msg: ServerMessage) => socket.handlers?.message(msg),
    drop: () => {
      open = false;
      socket.handlers?.close(1006, '');
    },
  };
  return { socket, sent, closes, asClient: socket as unknown as SignalClient };
}

const grant = { token: 't', graceMs: 20_000 };
afterEach(() => vi.useRealTimers());

test('counts frames both ways and, on a new socket, sends only what the server did not read', () => {
  const a = fakeSocket();
  const channel = new ResumableSignal(a.asClient, grant, 5000);
  const lost: number[] = [];
  channel.handlers = { message: () => undefined, malformed: () => undefined, close: (code) => lost.push(code) };
  channel.send({ type: 'ping', id: 1 });
  channel.send({ type: 'ping', id: 2 });
  a.socket.receive({ type: 'pong', id: 1 });
  a.socket.receive({ type: 'rtt', rttMs: 3 }); // not counted, as the server does not count it
  expect(channel.lastReceived).toBe(1);

  a.socket.drop();
  expect(lost).toEqual([1006]);
  // Kept for the replay while no socket is bound.
  expect(channel.send({ type: 'ping', id: 3 })).toBe(true);

  const b = fakeSocket();
  expect(channel.resumeOn(b.asClient, 1)).toBe(true); // the server read the first ping only
  expect(b.sent).toEqual([{ type: 'ping', id: 2 }, { type: 'ping', id: 3 }]);
  b.socket.receive({ type: 'pong', id: 2 });
  expect(channel.lastReceived).toBe(2);
  channel.close();
  expect(b.closes).toEqual([1000]);
  expect(channel.send({ type: 'ping', id: 4 })).toBe(false);
});

test('a server that read more than was sent, or less than is kept, cannot be resumed with', () => {
  const a = fakeSocket();
  const channel = new ResumableSignal(a.asClient, grant, 5000);
  for (let id = 0; id < 300; id++) channel.send({ type: 'ping', id });
  expect(channel.resumeOn(fakeSocket().asClient, 301)).toBe(false);
  expect(channel.resumeOn(fakeSocket().asClient, 10)).toBe(false); // 290 missing, 256 kept
  const b = fakeSocket();
  expect(channel.resumeOn(b.asClient, 100)).toBe(true);
  expect(b.sent).toHaveLength(200);
  channel.close();
});

test('a silent socket is pinged after the heartbeat interval, and dropped when the ping is not answered', () => {
  vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'performance'] });
  const a = fakeSocket();
  const channel = new ResumableSignal(a.asClient, grant, 5000);
  const lost: number[] = [];
  channel.handlers = { message: () => undefined, malformed: () => undefined, close: (code) => lost.push(code) };
  vi.advanceTimersByTime(5500);
  expect(a.sent).toEqual([]);
  a.socket.receive({ type: 'rtt', rttMs: 1 }); // any frame counts as a sign of life
  vi.advanceTimersByTime(6500);
  expect(a.sent).toEqual([{ type: 'ping' }]);
  vi.advanceTimersByTime(1500);
  expect(lost).toEqual([]);
  vi.advanceTimersByTime(1000);
  expect(a.closes).toEqual([4000]);
  expect(lost).toEqual([1006]);
  channel.close();
});

test('a session the server does not keep is not logged, and sending on a dropped socket fails', () => {
  const a = fakeSocket();
  const channel = new ResumableSignal(a.asClient, undefined, 5000);
  channel.handlers = { message: () => undefined, malformed: () => undefined, close: () => undefined };
  expect(channel.send({ type: 'leave' })).toBe(true);
  a.socket.drop();
  expect(channel.send({ type: 'leave' })).toBe(false);
  channel.close();
});
