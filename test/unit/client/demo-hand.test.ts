import { expect, test } from 'vitest';
import { handRaised, withHand } from '../../../client/demo/hand.js';

test('a hand is raised only by {"hand":true} metadata; anything else reads as lowered', () => {
  expect(handRaised('{"hand":true}')).toBe(true);
  for (const metadata of [undefined, '', '{"hand":false}', '{"hand":"yes"}', 'not json', '[true]', 'null', '42']) {
    expect(handRaised(metadata), String(metadata)).toBe(false);
  }
});

test('raising or lowering keeps the metadata the application keeps beside the hand', () => {
  expect(JSON.parse(withHand('{"seat":4}', true))).toEqual({ seat: 4, hand: true });
  expect(JSON.parse(withHand('{"seat":4,"hand":true}', false))).toEqual({ seat: 4, hand: false });
  expect(JSON.parse(withHand('garbage', true))).toEqual({ hand: true });
  expect(handRaised(withHand(undefined, true))).toBe(true);
});
