import { afterEach, expect, test, vi } from 'vitest';
import type { RTCDtlsTransport } from 'werift';
import { SENDER_REPORT_INTERVAL_MS, SenderReportTimer, type SenderReportSource } from '../../../sfu/media/rtp/sender-report-timer.js';

afterEach(() => {
  vi.useRealTimers();
});

/** Just enough of werift's RTCDtlsTransport: state, SRTCP "encryption" (identity) and the ICE connection. */
function fakeTransport() {
  const sent: Buffer[] = [];
  const dtls = {
    state: 'connected',
    bytesSent: 0,
    packetsSent: 0,
    srtcp: { encrypt: (raw: Buffer) => raw },
    iceTransport: { connection: { send: async (data: Buffer) => void sent.push(Buffer.from(data)) } },
  };
  return { dtls: dtls as unknown as RTCDtlsTransport, sent };
}

const source = (ssrc: number): SenderReportSource => ({
  writeSenderReport(out, offset) {
    out.writeUInt32BE(ssrc, offset + 4);
    return 28;
  },
});

test('one timer per connection sends every stream\'s report in one compound packet about once a second', () => {
  vi.useFakeTimers();
  const { dtls, sent } = fakeTransport();
  const a = source(1);
  const b = source(2);
  const timer = SenderReportTimer.register(dtls, a);
  expect(SenderReportTimer.register(dtls, b)).toBe(timer);
  vi.advanceTimersByTime(SENDER_REPORT_INTERVAL_MS);
  expect(sent).toHaveLength(1);
  expect(sent[0].length).toBe(56);
  expect([sent[0].readUInt32BE(4), sent[0].readUInt32BE(32)]).toEqual([1, 2]);
  vi.advanceTimersByTime(SENDER_REPORT_INTERVAL_MS * 2);
  expect(sent).toHaveLength(3);
  timer.unregister(a);
  timer.unregister(b);
});

test('the timer stops when the last stream leaves, so nothing outlives the down tracks', () => {
  vi.useFakeTimers();
  const { dtls, sent } = fakeTransport();
  const a = source(1);
  const timer = SenderReportTimer.register(dtls, a);
  expect(SenderReportTimer.isRunning(dtls)).toBe(true);
  timer.unregister(a);
  expect(SenderReportTimer.isRunning(dtls)).toBe(false);
  expect(vi.getTimerCount()).toBe(0);
  vi.advanceTimersByTime(SENDER_REPORT_INTERVAL_MS * 3);
  expect(sent).toHaveLength(0);
});

test('streams with nothing sent yet add nothing, and no packet goes out for none', () => {
  vi.useFakeTimers();
  const { dtls, sent } = fakeTransport();
  const silent: SenderReportSource = { writeSenderReport: () => 0 };
  const timer = SenderReportTimer.register(dtls, silent);
  vi.advanceTimersByTime(SENDER_REPORT_INTERVAL_MS);
  expect(sent).toHaveLength(0);
  timer.unregister(silent);
});

test('nothing is sent before the transport is connected', () => {
  const { dtls, sent } = fakeTransport();
  (dtls as { state: string }).state = 'connecting';
  const a = source(1);
  const timer = SenderReportTimer.register(dtls, a);
  timer.flush();
  expect(sent).toHaveLength(0);
  timer.unregister(a);
});
