import type { NodeInfo } from './cluster-types.js';

/** How loaded a node is, 0 (idle) upward: the larger of its CPU and its participant share of capacity. */
export function loadScore(node: NodeInfo): number {
  const participants = node.maxParticipants > 0 ? node.load.participants / node.maxParticipants : 0;
  return Math.max(node.load.cpu, participants);
}

/** Whether `node` may take a new room: serving, and with room for one more participant. */
export function acceptsRooms(node: NodeInfo): boolean {
  return node.state === 'serving' && (node.maxParticipants === 0 || node.load.participants < node.maxParticipants);
}

/**
 * The node for a new room: the less loaded of two candidates picked at random (the power of two choices). Loads
 * are up to a heartbeat old, so always taking the least loaded would send every room placed within that heartbeat
 * to the same node; two random choices spread them and still avoid the busy nodes.
 */
export function chooseNode(nodes: readonly NodeInfo[], random: () => number = Math.random): NodeInfo | undefined {
  const candidates = nodes.filter(acceptsRooms);
  if (candidates.length <= 1) return candidates[0];
  const first = Math.floor(random() * candidates.length);
  let second = Math.floor(random() * (candidates.length - 1));
  if (second >= first) second++;
  const a = candidates[first];
  const b = candidates[second];
  return loadScore(b) < loadScore(a) ? b : a;
}
