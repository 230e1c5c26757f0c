import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Counter } from 'prom-client';
import type { RunningServer } from '../../server/app.js';
import { CloseCode, ErrorCode } from '../../signaling/errors.js';
import { Bot, waitUntil } from '../helpers/bot.js';
import { startTestServer } from '../helpers/server.js';

/** tsfu_sfu_data_receiver_drops_total{channel, reason} summed. */
async function receiverDrops(server: RunningServer, channel: string, reason: string): Promise<number> {
  const counter = server.registry.getSingleMetric('tsfu_sfu_data_receiver_drops_total') as Counter;
  const metric = await counter.get();
  return metric.values.filter((v) => v.labels.channel === channel && v.labels.reason === reason).reduce((n, v) => n + v.value, 0);
}

/** The bot's SCTP stops reading (and acknowledging) what the SFU sends, as a client whose app stopped reading does. */
function stallReceiving(bot: Bot): void {
  const sctp = (bot.subscriber as unknown as { sctpTransport: { dtlsTransport: { dataReceiver: (buf: Buffer) => void } } }).sctpTransport;
  sctp.dtlsTransport.dataReceiver = () => undefined;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('per-participant data rate limits', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startTestServer({ rtc: { dataMessagesPerSecond: 10, dataMessageBurst: 20, dataBytesPerSecond: 24_000, dataBytesBurst: 24_000 } });
  });
  afterAll(async () => {
    await server?.close();
  });

  test('a sender over the message rate gets one RATE_LIMITED error and its excess messages are dropped', async () => {
    const [sender, receiver] = [await Bot.join(server.signalingUrl, 'rate', 'flooder'), await Bot.join(server.signalingUrl, 'rate', 'listener')];
    await Promise.all([sender.dataReady(), receiver.dataReady()]);
    for (let i = 0; i < 100; i++) sender.sendData(`m${i}`);
    const error = await sender.signaling.waitFor('error', (m) => m.code === ErrorCode.RATE_LIMITED);
    expect(error.requestType).toBe('data');
    await waitUntil(() => receiver.data.length >= 20, 5000, 'the burst delivered');
    // The burst (20) plus what the rate refilled while the 100 messages arrived (10/s): well under 100.
    await sleep(300);
    expect(receiver.data.length).toBeLessThan(30);
    expect(sender.signaling.messages.filter((m) => m.type === 'error' && m.code === ErrorCode.RATE_LIMITED).length).toBe(1);
    // The sender is not disconnected: once the allowance refills, its messages flow again.
    await sleep(1100);
    const before = receiver.data.length;
    sender.sendData('after the pause');
    await waitUntil(() => receiver.data.length > before, 5000, 'a message after the pause');
    await Promise.all([sender.close(), receiver.close()]);
  });

  test('a sender over the byte rate is limited too', async () => {
    const [sender, receiver] = [await Bot.join(server.signalingUrl, 'bytes', 'big-sender'), await Bot.join(server.signalingUrl, 'bytes', 'big-listener')];
    await Promise.all([sender.dataReady(), receiver.dataReady()]);
    for (let i = 0; i < 10; i++) sender.sendData('x'.repeat(8000));
    const error = await sender.signaling.waitFor('error', (m) => m.code === ErrorCode.RATE_LIMITED);
    expect(error.message).toMatch(/bytes per second/);
    await waitUntil(() => receiver.data.length >= 2, 5000, 'what the byte allowance covers');
    await sleep(300);
    expect(receiver.data.length).toBeLessThanOrEqual(3);
    await Promise.all([sender.close(), receiver.close()]);
  });
});

describe('fan-out respects each receiver\'s buffer', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startTestServer({
      rtc: { dataLossyMaxBufferedBytes: 16_384, dataReliableHighWaterBytes: 65_536, dataStallTimeoutMs: 1000, dataBytesPerSecond: 10_000_000, dataBytesBurst: 10_000_000, dataMessagesPerSecond: 10_000, dataMessageBurst: 10_000 },
    });
  });
  afterAll(async () => {
    await server?.close();
  });

  test('lossy messages to a stalled receiver are dropped; a stalled reliable receiver is told and disconnected; the healthy one gets everything', async () => {
    const sender = await Bot.join(server.signalingUrl, 'fanout', 'teacher');
    const healthy = await Bot.join(server.signalingUrl, 'fanout', 'reader');
    const stalled = await Bot.join(server.signalingUrl, 'fanout', 'frozen');
    await Promise.all([sender.dataReady(), healthy.dataReady(), stalled.dataReady()]);
    stallReceiving(stalled);

    // Lossy, paced so the healthy receiver keeps up: everything beyond ~16 KiB for the stalled one is dropped.
    const droppedBefore = await receiverDrops(server, 'lossy', 'buffer-full');
    const chunk = 'l'.repeat(4000);
    for (let i = 0; i < 60; i++) {
      sender.sendData(chunk, { reliable: false });
      await sleep(10);
    }
    await waitUntil(() => healthy.data.filter((d) => !d.reliable).length >= 55, 10_000, 'lossy messages at the healthy receiver');
    expect((await receiverDrops(server, 'lossy', 'buffer-full')) - droppedBefore).toBeGreaterThanOrEqual(50);

    // Reliable: 200 KB, more than the 64 KiB high-water mark, which the stalled receiver never drains.
    for (let i = 0; i < 50; i++) {
      sender.sendData(`r${i} ${chunk}`);
      await sleep(10);
    }
    const error = await stalled.signaling.waitFor('error', (m) => m.code === ErrorCode.DATA_STALLED, 10_000);
    expect(error.requestType).toBe('data');
    expect((await stalled.signaling.closed).code).toBe(CloseCode.DATA_STALLED);
    const left = await sender.signaling.waitFor('participantLeft', (m) => m.identity === 'frozen');
    expect(left.reason).toBe('data-stalled');
    await waitUntil(() => healthy.data.filter((d) => d.reliable).length === 50, 10_000, 'every reliable message at the healthy receiver');
    expect(healthy.signaling.messages.some((m) => m.type === 'error')).toBe(false);
    await Promise.all([sender.close(), healthy.close(), stalled.close()]);
    await waitUntil(() => server.sfu.rooms.size === 0, 10_000, 'room closed');
  });
});
