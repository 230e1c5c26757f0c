import { describe, expect, test } from 'vitest';
import {
  ConnectionQualityMonitor,
  FLOWING,
  RISE_AFTER_MS,
  SILENT_AFTER_MS,
  judgeLocal,
  type ConnectionQuality,
  type InboundRtpCounters,
  type LocalLinkSample,
  type ReceivedTrackSample,
  type TrackCondition,
} from '../../../client/sdk/connection-quality.js';

const INTERVAL_MS = 2000;
const CLEAN_LOCAL: LocalLinkSample = { disconnected: false, roundTripTimes: [0.01], uplinkLimitedByBandwidth: false };

/** What happened on one track during one interval. */
interface Interval {
  received?: number;
  lost?: number;
  freezes?: number;
  frozenS?: number;
  jitter?: number;
  condition?: TrackCondition;
  /** A new SSRC: the track's inbound-rtp stats start again from zero under a new id (the old one stays, frozen). */
  newSsrc?: boolean;
}

/** A remote participant's track as getStats() would show it: cumulative counters, moved on one interval at a time. */
class FakeTrack {
  readonly #streams: InboundRtpCounters[];
  condition: TrackCondition = FLOWING;

  constructor(
    readonly trackId: string,
    readonly identity: string,
    readonly kind: 'audio' | 'video',
  ) {
    this.#streams = [{ id: `${trackId}-ssrc0`, packetsReceived: 0, packetsLost: 0, jitter: 0.004, freezeCount: 0, totalFreezesDuration: 0 }];
  }

  advance({ received = 100, lost = 0, freezes = 0, frozenS = 0, jitter = 0.004, condition, newSsrc = false }: Interval): ReceivedTrackSample {
    if (newSsrc) this.#streams.push({ id: `${this.trackId}-ssrc${this.#streams.length}`, packetsReceived: 0, packetsLost: 0, jitter: 0, freezeCount: 0, totalFreezesDuration: 0 });
    const live = this.#streams.at(-1)!;
    live.packetsReceived += received;
    live.packetsLost += lost;
    live.freezeCount! += freezes;
    live.totalFreezesDuration! += frozenS;
    live.jitter = jitter;
    if (condition) this.condition = condition;
    return { trackId: this.trackId, identity: this.identity, kind: this.kind, condition: this.condition, inbound: this.#streams.map((s) => ({ ...s })) };
  }
}

/** A monitor fed every 2 s, as the room does, with "me" (local) and one remote participant, "alice". */
class Harness {
  readonly monitor = new ConnectionQualityMonitor();
  readonly events: [identity: string, quality: ConnectionQuality][] = [];
  now = 0;
  local: LocalLinkSample = CLEAN_LOCAL;
  remotes = ['alice'];

  /** One sample after an interval in which each given track saw what its `Interval` says. */
  step(...tracks: [FakeTrack, Interval][]): void {
    this.now += INTERVAL_MS;
    const received = tracks.map(([track, interval]) => track.advance(interval));
    this.events.push(...this.monitor.update({ atMs: this.now, localIdentity: 'me', remoteIdentities: this.remotes, received, local: this.local }));
  }

  /** `count` samples, each with the same interval on `track`; returns alice's level after each. */
  steps(count: number, track: FakeTrack, interval: Interval = {}): (ConnectionQuality | undefined)[] {
    return Array.from({ length: count }, () => {
      this.step([track, interval]);
      return this.monitor.quality('alice');
    });
  }

  eventsFor(identity: string): ConnectionQuality[] {
    return this.events.filter(([who]) => who === identity).map(([, quality]) => quality);
  }
}

const camera = () => new FakeTrack('TR_cam', 'alice', 'video');
const microphone = () => new FakeTrack('TR_mic', 'alice', 'audio');

describe('a remote participant judged from the tracks received from them', () => {
  test('clean media is excellent from the first sample, announced once', () => {
    const h = new Harness();
    expect(h.steps(10, camera())).toEqual(Array(10).fill('excellent'));
    expect(h.eventsFor('alice')).toEqual(['excellent']);
    expect(h.eventsFor('me')).toEqual(['excellent']);
  });

  test('3 % loss is good, shown at once', () => {
    const h = new Harness();
    const cam = camera();
    h.steps(2, cam);
    expect(h.steps(3, cam, { received: 97, lost: 3 })).toEqual(['good', 'good', 'good']);
    expect(h.eventsFor('alice')).toEqual(['excellent', 'good']);
  });

  test('15 % loss is poor', () => {
    const h = new Harness();
    const cam = camera();
    h.steps(2, cam);
    expect(h.steps(1, cam, { received: 85, lost: 15 })).toEqual(['poor']);
  });

  test('a 2 s freeze is poor; one short freeze is good', () => {
    const frozen = new Harness();
    const cam = camera();
    frozen.steps(2, cam);
    expect(frozen.steps(1, cam, { freezes: 1, frozenS: 2 })).toEqual(['poor']);

    const hiccup = new Harness();
    const other = camera();
    hiccup.steps(2, other);
    expect(hiccup.steps(1, other, { freezes: 1, frozenS: 0.2 })).toEqual(['good']);
  });

  test('loss over too few packets to judge (1 of 10) says nothing', () => {
    const h = new Harness();
    const cam = camera();
    h.steps(2, cam);
    expect(h.steps(3, cam, { received: 9, lost: 1 })).toEqual(['excellent', 'excellent', 'excellent']);
  });

  test('high jitter is good from 30 ms and poor from 100 ms', () => {
    const h = new Harness();
    const mic = microphone();
    h.steps(1, mic);
    expect(h.steps(1, mic, { jitter: 0.045 })).toEqual(['good']);
    expect(h.steps(1, mic, { jitter: 0.12 })).toEqual(['poor']);
  });

  test('no packets for 4 s on an unpaused track is lost; packets again show poor at once, then rise after the hold', () => {
    const h = new Harness();
    const cam = camera();
    h.steps(2, cam);
    // 2 s without a packet is under SILENT_AFTER_MS; 4 s is over it.
    expect(SILENT_AFTER_MS).toBeGreaterThan(INTERVAL_MS);
    expect(SILENT_AFTER_MS).toBeLessThanOrEqual(2 * INTERVAL_MS);
    expect(h.steps(2, cam, { received: 0 })).toEqual(['excellent', 'lost']);
    expect(h.steps(4, cam)).toEqual(['poor', 'poor', 'excellent', 'excellent']);
    expect(h.eventsFor('alice')).toEqual(['excellent', 'lost', 'poor', 'excellent']);
  });

  test('one silent track while another flows is poor, not lost', () => {
    const h = new Harness();
    const cam = camera();
    const mic = microphone();
    h.step([cam, {}], [mic, {}]);
    h.step([cam, { received: 0 }], [mic, {}]);
    h.step([cam, { received: 0 }], [mic, {}]);
    expect(h.monitor.quality('alice')).toBe('poor');
    // The microphone stops too: lost once it has been silent as long.
    h.step([cam, { received: 0 }], [mic, { received: 0 }]);
    expect(h.monitor.quality('alice')).toBe('poor');
    h.step([cam, { received: 0 }], [mic, { received: 0 }]);
    expect(h.monitor.quality('alice')).toBe('lost');
  });

  test('a track this client hides stays excellent: no packets, and the freeze reported once it is shown again, count for nothing', () => {
    const h = new Harness();
    const cam = camera();
    h.steps(2, cam);
    expect(h.steps(5, cam, { received: 0, condition: { paused: 'app', layersBelow: 0, flowingSince: -Infinity } })).toEqual(Array(5).fill('excellent'));
    // Shown again at the end of an interval: the browser reports the hidden time as a freeze with the first frames.
    const shownAt = h.now + INTERVAL_MS - 200;
    h.steps(1, cam, { received: 10, condition: { paused: 'no', layersBelow: 0, flowingSince: shownAt } });
    expect(h.steps(1, cam, { freezes: 1, frozenS: 1.8 })).toEqual(['excellent']);
    expect(h.eventsFor('alice')).toEqual(['excellent']);
  });

  test('a track paused for bandwidth is poor (not lost); one or two layers below the wanted one are good and poor', () => {
    const h = new Harness();
    const cam = camera();
    h.steps(1, cam);
    expect(h.steps(3, cam, { received: 0, condition: { paused: 'bandwidth', layersBelow: 0, flowingSince: -Infinity } })).toEqual(['poor', 'poor', 'poor']);

    const layers = new Harness();
    const other = camera();
    layers.steps(1, other);
    expect(layers.steps(1, other, { condition: { paused: 'no', layersBelow: 1, flowingSince: -Infinity } })).toEqual(['good']);
    expect(layers.steps(1, other, { condition: { paused: 'no', layersBelow: 2, flowingSince: -Infinity } })).toEqual(['poor']);
  });

  test('a recovery rises only once the better level has held for RISE_AFTER_MS, to the worst level seen meanwhile', () => {
    expect(RISE_AFTER_MS).toBe(3 * INTERVAL_MS);
    const h = new Harness();
    const cam = camera();
    h.steps(1, cam);
    h.steps(1, cam, { received: 85, lost: 15 });
    expect(h.monitor.quality('alice')).toBe('poor');
    const poorAt = h.now;
    // Three better intervals, one of them only good: good shows at the end of the third, not before.
    expect(h.steps(1, cam)).toEqual(['poor']);
    expect(h.steps(1, cam, { received: 97, lost: 3 })).toEqual(['poor']);
    expect(h.steps(1, cam)).toEqual(['good']);
    expect(h.now - poorAt).toBe(RISE_AFTER_MS);
    // Excellent needs its own three intervals from there.
    expect(h.steps(3, cam)).toEqual(['good', 'good', 'excellent']);
    expect(h.eventsFor('alice')).toEqual(['excellent', 'poor', 'good', 'excellent']);
  });

  test('a worse interval during the hold starts it again', () => {
    const h = new Harness();
    const cam = camera();
    h.steps(1, cam);
    h.steps(1, cam, { received: 85, lost: 15 });
    h.steps(2, cam);
    h.steps(1, cam, { received: 85, lost: 15 });
    expect(h.steps(2, cam)).toEqual(['poor', 'poor']);
    expect(h.steps(1, cam)).toEqual(['excellent']);
  });

  test('no flapping when loss hovers at a threshold', () => {
    const h = new Harness();
    const cam = camera();
    h.steps(1, cam);
    // Around 2 % (excellent / good), then around 6 % (good / poor): one step down each time, never back up.
    for (let i = 0; i < 10; i++) h.step([cam, i % 2 === 0 ? { received: 980, lost: 21 } : { received: 981, lost: 19 }]);
    expect(h.monitor.quality('alice')).toBe('good');
    for (let i = 0; i < 10; i++) h.step([cam, i % 2 === 0 ? { received: 940, lost: 61 } : { received: 941, lost: 59 }]);
    expect(h.eventsFor('alice')).toEqual(['excellent', 'good', 'poor']);
  });

  test('a new SSRC on the same track counts from zero; an old one left behind and late packets lowering the loss count do no harm', () => {
    const h = new Harness();
    const cam = camera();
    h.steps(2, cam);
    expect(h.steps(1, cam, { newSsrc: true, received: 50 })).toEqual(['excellent']);
    expect(h.steps(2, cam, { received: 100, lost: -3 })).toEqual(['excellent', 'excellent']);
    expect(h.eventsFor('alice')).toEqual(['excellent']);
  });

  test('a participant with nothing received is excellent; one who left is forgotten without an event', () => {
    const h = new Harness();
    h.remotes = ['alice', 'bob'];
    h.step([camera(), {}]);
    expect(h.monitor.quality('bob')).toBe('excellent');
    h.remotes = ['alice'];
    h.step();
    expect(h.monitor.quality('bob')).toBeUndefined();
    expect(h.eventsFor('bob')).toEqual(['excellent']);
    h.monitor.forget('alice');
    expect(h.monitor.quality('alice')).toBeUndefined();
  });
});

describe('the local participant judged from its own connections', () => {
  const local = (changes: Partial<LocalLinkSample>): ConnectionQuality => judgeLocal({ ...CLEAN_LOCAL, ...changes });

  test('levels from round-trip time, uplink loss, bandwidth limitation, incoming bitrate and the connection state', () => {
    expect(local({})).toBe('excellent');
    expect(local({ roundTripTimes: [0.01, 0.35] })).toBe('good');
    expect(local({ roundTripTimes: [0.9] })).toBe('poor');
    expect(local({ uplinkFractionLost: 0.01 })).toBe('excellent');
    expect(local({ uplinkFractionLost: 0.03 })).toBe('good');
    expect(local({ uplinkFractionLost: 0.1 })).toBe('poor');
    expect(local({ uplinkLimitedByBandwidth: true })).toBe('good');
    expect(local({ availableIncomingBitrate: 2_000_000 })).toBe('excellent');
    expect(local({ availableIncomingBitrate: 100_000 })).toBe('poor');
    expect(local({ disconnected: true })).toBe('lost');
  });

  test('the same hold applies: a dip shows at once, the recovery after RISE_AFTER_MS', () => {
    const h = new Harness();
    const cam = camera();
    h.steps(1, cam);
    h.local = { ...CLEAN_LOCAL, uplinkLimitedByBandwidth: true };
    h.steps(1, cam);
    h.local = CLEAN_LOCAL;
    h.steps(2, cam);
    expect(h.monitor.quality('me')).toBe('good');
    h.steps(1, cam);
    expect(h.eventsFor('me')).toEqual(['excellent', 'good', 'excellent']);
  });
});
