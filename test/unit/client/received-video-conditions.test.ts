import { expect, test } from 'vitest';
import { ReceivedVideoConditions, SETTINGS_ANSWER_MS } from '../../../client/sdk/received-video-conditions.js';

const CAM = 'TR_cam';

test('a track the server never mentioned flows, with nothing below', () => {
  expect(new ReceivedVideoConditions().condition(CAM, 0)).toEqual({ paused: 'no', layersBelow: 0, flowingSince: -Infinity });
});

test('paused while this client hides it is its own doing; paused while shown is bandwidth', () => {
  const c = new ReceivedVideoConditions();
  c.settingsSent([CAM], { enabled: false }, 0);
  expect(c.condition(CAM, 10).paused).toBe('app');
  c.trackState(CAM, { paused: true, layer: -1 }, 20);
  expect(c.condition(CAM, 30).paused).toBe('app');

  const other = new ReceivedVideoConditions();
  other.trackState(CAM, { paused: true, layer: -1 }, 0);
  expect(other.condition(CAM, 10).paused).toBe('bandwidth');
  // Hidden after the server paused it for bandwidth: now it is this client's choice.
  other.settingsSent([CAM], { enabled: false }, 20);
  expect(other.condition(CAM, 30).paused).toBe('app');
});

test('shown again: the old pause counts as its own until the server has had time to answer, then as bandwidth', () => {
  const c = new ReceivedVideoConditions();
  c.settingsSent([CAM], { enabled: false }, 0);
  c.trackState(CAM, { paused: true, layer: -1 }, 10);
  c.settingsSent([CAM], { enabled: true, width: 640, height: 360 }, 1000);
  expect(c.condition(CAM, 1000 + SETTINGS_ANSWER_MS - 1).paused).toBe('app');
  expect(c.condition(CAM, 1000 + SETTINGS_ANSWER_MS)).toEqual({ paused: 'bandwidth', layersBelow: 0, flowingSince: 1000 });
  c.trackState(CAM, { paused: false, layer: 1 }, 2500);
  expect(c.condition(CAM, 3000)).toEqual({ paused: 'no', layersBelow: 0, flowingSince: 2500 });
});

test('below the layer wanted: below the highest layer sent since the size or quality last changed', () => {
  const c = new ReceivedVideoConditions();
  c.trackState(CAM, { paused: false, layer: 0 }, 0);
  c.trackState(CAM, { paused: false, layer: 2 }, 100);
  c.trackState(CAM, { paused: false, layer: 1 }, 200);
  expect(c.condition(CAM, 300).layersBelow).toBe(1);
  c.trackState(CAM, { paused: false, layer: 0 }, 400);
  expect(c.condition(CAM, 500).layersBelow).toBe(2);
  // The tile shrinks: the layer the server now sends is the one wanted.
  c.settingsSent([CAM], { enabled: true, width: 320, height: 180 }, 600);
  c.trackState(CAM, { paused: false, layer: 0 }, 650);
  expect(c.condition(CAM, 700).layersBelow).toBe(0);
});

test('hidden then shown at the same size keeps the layer reached before, so a lower layer after the resume counts', () => {
  const c = new ReceivedVideoConditions();
  const shown = { enabled: true, width: 1280, height: 720 } as const;
  c.settingsSent([CAM], shown, 0);
  c.trackState(CAM, { paused: false, layer: 2 }, 10);
  c.settingsSent([CAM], { enabled: false }, 100);
  c.trackState(CAM, { paused: true, layer: -1 }, 110);
  c.settingsSent([CAM], shown, 200);
  c.trackState(CAM, { paused: false, layer: 1 }, 210);
  expect(c.condition(CAM, 300)).toEqual({ paused: 'no', layersBelow: 1, flowingSince: 210 });
});

test('a forgotten track is back to flowing; clear forgets all', () => {
  const c = new ReceivedVideoConditions();
  c.trackState(CAM, { paused: true, layer: -1 }, 0);
  c.trackState('TR_other', { paused: true, layer: -1 }, 0);
  c.forget(CAM);
  expect(c.condition(CAM, 10).paused).toBe('no');
  expect(c.condition('TR_other', 10).paused).toBe('bandwidth');
  c.clear();
  expect(c.condition('TR_other', 10).paused).toBe('no');
});

test('a track muted on the server is not expected to flow (any kind); unmuted, it flows again from then', () => {
  const c = new ReceivedVideoConditions();
  c.setMuted('TR_mic', false, 0);
  expect(c.condition('TR_mic', 0)).toEqual({ paused: 'no', layersBelow: 0, flowingSince: -Infinity });
  c.setMuted('TR_mic', true, 100);
  expect(c.condition('TR_mic', 200).paused).toBe('app');
  c.setMuted('TR_mic', true, 300);
  c.setMuted('TR_mic', false, 5000);
  expect(c.condition('TR_mic', 5100)).toEqual({ paused: 'no', layersBelow: 0, flowingSince: 5000 });
  c.setMuted('TR_mic', false, 9000);
  expect(c.condition('TR_mic', 9100).flowingSince).toBe(5000);
});
