import type { JoinRequest } from './messages.js';
import type { LoadTestOptions } from './options.js';

/**
 * Every bot to join, in order: all publishers first (room by room), then the subscribers, so that a subscriber's
 * time to first media measures the server, not a publisher that has not joined yet.
 */
export function joinPlan(options: Pick<LoadTestOptions, 'rooms' | 'publishers' | 'subscribers' | 'roomPrefix'>, runId: string): JoinRequest[] {
  const plan: JoinRequest[] = [];
  const room = (r: number) => `${options.roomPrefix}-${runId}-${r}`;
  for (let p = 0; p < options.publishers; p++) {
    for (let r = 0; r < options.rooms; r++) plan.push({ index: plan.length, role: 'publisher', room: room(r), identity: `pub-${r}-${p}` });
  }
  for (let s = 0; s < options.subscribers; s++) {
    for (let r = 0; r < options.rooms; r++) plan.push({ index: plan.length, role: 'subscriber', room: room(r), identity: `sub-${r}-${s}` });
  }
  return plan;
}
