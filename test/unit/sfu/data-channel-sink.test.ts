import { afterEach, beforeEach, expect, test, vi } from 'vitest';
import type { RTCDataChannel } from 'werift';
import { DataChannelSink } from '../../../sfu/session/data-channel-sink.js';
import type { SfuMetrics } from '../../../sfu/sfu-metrics.js';

/** What the sink uses of werift's RTCDataChannel: a queue that drains only when the test says so. */
class FakeChannel {
  readyState = 'open';
  bufferedAmount = 0;
  bufferedAmountLowThreshold = 0;
  sent = 0;
  readonly #low: (() => void)[] = [];
  readonly bufferedAmountLow = {
    subscribe: (listener: () => void) => {
      this.#low.push(listener);
      return { unSubscribe: () => this.#low.splice(this.#low.indexOf(listener), 1) };
    },
  };
  send(data: Buffer): void {
    this.sent++;
    this.bufferedAmount += data.length;
  }
  /** SCTP took `bytes` off the queue (werift's addBufferedAmount(-bytes)). */
  drain(bytes: number): void {
    const before = this.bufferedAmount;
    this.bufferedAmount = Math.max(0, before - bytes);
    if (before > this.bufferedAmountLowThreshold && this.bufferedAmount <= this.bufferedAmountLowThreshold) for (const l of [...this.#low]) l();
  }
  get listeners(): number {
    return this.#low.length;
  }
}

const counts: Record<string, number> = {};
const metrics = { dataReceiverDrops: { inc: (labels: { channel: string; reason: string }) => (counts[`${labels.channel}:${labels.reason}`] = (counts[`${labels.channel}:${labels.reason}`] ?? 0) + 1) } } as unknown as SfuMetrics;
const limits = { dataLossyMaxBufferedBytes: 1000, dataReliableHighWaterBytes: 10_000, dataStallTimeoutMs: 5000 };
const frame = new Uint8Array(600);

let reliable: FakeChannel;
let lossy: FakeChannel;
let stalls: string[];
let sink: DataChannelSink;
beforeEach(() => {
  vi.useFakeTimers();
  for (const key of Object.keys(counts)) delete counts[key];
  reliable = new FakeChannel();
  lossy = new FakeChannel();
  stalls = [];
  sink = new DataChannelSink({ reliable, lossy } as unknown as { reliable: RTCDataChannel; lossy: RTCDataChannel }, limits, metrics, (m) => stalls.push(m));
});
afterEach(() => {
  sink.close();
  vi.useRealTimers();
});

test('lossy frames are dropped while more than the threshold is buffered, and flow again once it drains', () => {
  expect(sink.send(frame, false)).toBe('sent');
  expect(sink.send(frame, false)).toBe('sent'); // 600 buffered: still under 1000
  expect(sink.send(frame, false)).toBe('dropped'); // 1200 buffered
  expect(counts['lossy:buffer-full']).toBe(1);
  lossy.drain(1200);
  expect(sink.send(frame, false)).toBe('sent');
});

test('a reliable receiver above the high-water mark for the stall timeout is reported once', () => {
  for (let i = 0; i < 20; i++) expect(sink.send(frame, true)).toBe('sent'); // 12,000 bytes: over 10,000
  vi.advanceTimersByTime(4999);
  expect(stalls).toEqual([]);
  vi.advanceTimersByTime(1);
  expect(stalls).toHaveLength(1);
  expect(stalls[0]).toMatch(/10000 buffered bytes for 5000 ms/);
  // Stalled: nothing more is queued for it.
  expect(sink.send(frame, true)).toBe('closed');
  vi.advanceTimersByTime(60_000);
  expect(stalls).toHaveLength(1);
});

test('a reliable receiver that drains below the mark in time is not reported', () => {
  for (let i = 0; i < 20; i++) sink.send(frame, true);
  vi.advanceTimersByTime(3000);
  reliable.drain(5000);
  vi.advanceTimersByTime(10_000);
  expect(stalls).toEqual([]);
  expect(vi.getTimerCount()).toBe(0);
});

test('past four times the mark the receiver is reported at once (after the fan-out loop), without queueing more', () => {
  reliable.bufferedAmount = 39_800;
  expect(sink.send(frame, true)).toBe('closed');
  expect(reliable.sent).toBe(0);
  expect(stalls).toEqual([]);
  vi.advanceTimersByTime(0); // runs the deferred report (setImmediate)
  expect(stalls).toHaveLength(1);
  expect(stalls[0]).toMatch(/more than 40000 bytes/);
});

test('close clears the stall timer and unsubscribes; a closed sink sends nothing', () => {
  for (let i = 0; i < 20; i++) sink.send(frame, true);
  expect(vi.getTimerCount()).toBe(1);
  sink.close();
  sink.close();
  expect(vi.getTimerCount()).toBe(0);
  expect(reliable.listeners).toBe(0);
  expect(sink.send(frame, false)).toBe('closed');
  vi.advanceTimersByTime(10_000);
  expect(stalls).toEqual([]);
});

test('a channel still connecting takes the frame (werift queues it until SCTP is up); a closing or closed one gets nothing', () => {
  lossy.readyState = 'connecting';
  expect(sink.send(frame, false)).toBe('sent');
  expect(lossy.sent).toBe(1);
  for (const state of ['closing', 'closed']) {
    reliable.readyState = state;
    expect(sink.send(frame, true)).toBe('closed');
  }
  expect(reliable.sent).toBe(0);
});
