import { expect, test } from 'vitest';
import type { NodeInfo } from '../../../cluster/cluster-types.js';
import { acceptsRooms, chooseNode, loadScore } from '../../../cluster/placement.js';

function node(id: string, participants: number, cpu = 0, state: NodeInfo['state'] = 'serving'): NodeInfo {
  return { id, signalingUrl: '', mediaAddress: '', state, maxParticipants: 100, load: { cpu, rooms: 0, participants, forwardedBps: 0 }, startedAt: 0, updatedAt: 0 };
}

test('a node is as loaded as the larger of its CPU and its share of participants; full and draining nodes take no room', () => {
  expect(loadScore(node('a', 50, 0.2))).toBe(0.5);
  expect(loadScore(node('a', 10, 0.7))).toBe(0.7);
  expect(acceptsRooms(node('a', 100))).toBe(false);
  expect(acceptsRooms(node('a', 0, 0, 'draining'))).toBe(false);
  expect(chooseNode([node('a', 100), node('b', 0, 0, 'draining')])).toBeUndefined();
  expect(chooseNode([node('a', 100), node('b', 99)])?.id).toBe('b');
});

test('two random candidates, the less loaded wins: the busiest node never gets a room, and rooms spread over the others', () => {
  const nodes = [node('idle', 0), node('light', 10), node('medium', 40), node('busy', 90)];
  let seed = 1;
  const random = () => ((seed = (seed * 16807) % 2147483647) - 1) / 2147483646;
  const counts = new Map<string, number>();
  for (let i = 0; i < 10_000; i++) {
    const id = chooseNode(nodes, random)!.id;
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  expect(counts.get('busy')).toBeUndefined();
  // Each pair is equally likely: idle wins 3 of 6 pairs, light 2, medium 1.
  expect(counts.get('idle')! / 10_000).toBeCloseTo(0.5, 1);
  expect(counts.get('light')! / 10_000).toBeCloseTo(1 / 3, 1);
  expect(counts.get('medium')! / 10_000).toBeCloseTo(1 / 6, 1);
});
