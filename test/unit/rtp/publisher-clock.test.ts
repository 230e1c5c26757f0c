import { expect, test } from 'vitest';
import { PublisherClock } from '../../../sfu/media/rtp/publisher-clock.js';
import { ntpFromUnixMs, unixMsFromNtp } from '../../../sfu/media/rtp/sender-report.js';

const ntp = (unixMs: number) => {
  const { seconds, fraction } = ntpFromUnixMs(unixMs);
  return (BigInt(seconds) << 32n) | BigInt(fraction);
};

test('NTP timestamps convert to Unix ms; a fraction werift-style (milliseconds as digits) is refused as coarse', () => {
  expect(unixMsFromNtp(ntp(1_764_556_800_123.5))).toBeCloseTo(1_764_556_800_123.5, 3);
  const wholeSeconds = ntp(1_764_556_800_000) | 789n; // werift: "…800.789" → fraction 789
  expect(unixMsFromNtp(wholeSeconds)).toBeUndefined();
});

test('the offset is the report that queued least: a late report does not move where the publisher clock maps', () => {
  const clock = new PublisherClock();
  const publisherAhead = 3_600_000; // the publisher's wallclock is an hour ahead of the SFU's
  clock.observe(10_000 + publisherAhead, 10_002); // 2 ms on the way
  clock.observe(10_500 + publisherAhead, 10_540); // 40 ms of queuing
  expect(clock.toLocalMs(10_500 + publisherAhead)).toBeCloseTo(10_502, 0); // risen by the drift allowance only (0.05 ms)
  clock.observe(11_000 + publisherAhead, 11_001); // a faster one lowers it at once
  expect(clock.toLocalMs(11_000 + publisherAhead)).toBeCloseTo(11_001, 3);
});

test('a publisher clock that runs slow is followed, at most 100 ppm', () => {
  const clock = new PublisherClock();
  clock.observe(0, 1);
  // Ten minutes later every report arrives 30 ms later than the first mapping says (50 ppm drift).
  for (let s = 1; s <= 600; s++) clock.observe(s * 1000, s * 1000 + 1 + s * 0.05);
  expect(clock.toLocalMs(600_000)).toBeCloseTo(600_031, 0);
});
