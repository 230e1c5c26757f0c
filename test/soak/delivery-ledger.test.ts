import { describe, expect, test } from 'vitest';
import { DeliveryLedger } from '../../bench/soak/delivery-ledger.js';
import { readStamp } from '../../bench/soak/media-stamp.js';

/** Drives a ledger with a hand-moved clock: one track sending 100 packets per 5-second window. */
function scenario() {
  const ledger = new DeliveryLedger(0, 5000, 1000);
  const track = ledger.addTrack('alice:video', 'video');
  track.trackId = 'TR_a';
  const sent: { at: number; payload: Buffer }[] = [];
  /** Sends from `from` to `to` ms, one packet every 50 ms. */
  const send = (from: number, to: number) => {
    for (let at = from; at < to; at += 50) {
      const payload = Buffer.alloc(40, 0x55);
      ledger.stamp(track, payload, at);
      sent.push({ at, payload });
    }
  };
  /** Delivers to `subscriber` what was sent in [from, to) except where `drop` says so, 5 ms later. */
  const deliver = (subscriber: string, from: number, to: number, drop: (at: number) => boolean = () => false) => {
    for (const packet of sent) if (packet.at >= from && packet.at < to && !drop(packet.at)) ledger.receive(subscriber, packet.payload, packet.at + 5);
  };
  return { ledger, track, send, deliver };
}

describe('the soak delivery ledger', () => {
  test('stamps carry the track, the window and an index', () => {
    const { ledger, track } = scenario();
    const payload = Buffer.alloc(40);
    ledger.stamp(track, payload, 12_345);
    expect(readStamp(payload)).toEqual({ tag: track.tag, window: 2, index: 0 });
    expect(readStamp(Buffer.alloc(40))).toBeUndefined();
  });

  test('judges only the windows a subscriber was subscribed for the whole of, and counts duplicates once', () => {
    const { ledger, send, deliver } = scenario();
    send(0, 60_000);
    // Subscribed from 7.3 s (first packet) to its leave at 41 s: windows 10–15 s ... 35–40 s end before 41 s − 1 s margin.
    deliver('bob', 7_300, 41_000);
    deliver('bob', 20_000, 25_000); // retransmitted copies of window 4
    ledger.leave('bob', 41_000);
    const report = ledger.report(60_000);
    expect(report.windows).toBe(6);
    expect(report.worst?.pct).toBe(100);
    expect(report.received).toBe(600);
  });

  test('a window with losses shows its exact share, and a silent window shows 0 %', () => {
    const { ledger, send, deliver } = scenario();
    send(0, 60_000);
    // 10 of window 3's 100 packets lost; nothing at all in window 6 (as when a forwarder drops everything).
    deliver('carol', 100, 60_000, (at) => (at >= 15_000 && at < 15_500) || (at >= 30_000 && at < 35_000));
    const report = ledger.report(60_000);
    const pct = (window: number) => [...report.below, report.worst].find((w) => w?.window === window)?.pct;
    expect(report.worst).toMatchObject({ window: 6, received: 0, sent: 100, pct: 0 });
    expect(pct(3)).toBeUndefined(); // 90 % is not below 90 %
    expect(report.below.map((w) => w.window)).toEqual([6]);
    expect(report.sent - report.received).toBe(110);
  });

  test('windows around a publisher leaving are not judged', () => {
    const { ledger, track, send, deliver } = scenario();
    send(0, 23_000);
    ledger.stopTrack(track, 23_000);
    deliver('dave', 2_000, 23_000);
    // Windows 1, 2, 3 (5–20 s) end at least 1 s before the publisher stopped; window 4 does not.
    expect(ledger.report(60_000).windows).toBe(3);
  });

  test('a subscription offered but never fed is reported after the start grace', () => {
    const { ledger, send } = scenario();
    send(0, 30_000);
    ledger.announce('erin', 'TR_a', 2_000);
    expect(ledger.report(11_000).stalled).toEqual([]);
    expect(ledger.report(13_000).stalled).toEqual([{ subscriber: 'erin', track: 'alice:video', waitedMs: 11_000 }]);
  });
});
