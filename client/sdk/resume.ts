import type { ResumableSignal } from './resumable-signal.js';
import { SignalClient } from './signal-client.js';

export type ResumeOutcome = 'resumed' | 'refused' | 'unreachable';

/**
 * One try at resuming `channel`'s session on a new socket to `url` (docs/PROTOCOL.md, "Resuming"): `resumed` once
 * the server took the socket and `channel` replayed what the server missed; `refused` when it cannot be resumed
 * (join again); `unreachable` when the socket did not open or closed first (try again while the grace lasts).
 */
export async function resumeOnce(url: string, channel: ResumableSignal, timeoutMs: number): Promise<ResumeOutcome> {
  const grant = channel.resume;
  if (!grant) return 'refused';
  let client: SignalClient;
  try {
    client = await SignalClient.open(url, timeoutMs);
  } catch {
    return 'unreachable';
  }
  return new Promise((resolve) => {
    const settle = (outcome: ResumeOutcome): void => {
      clearTimeout(timer);
      if (outcome !== 'resumed') {
        client.handlers = undefined;
        client.close(1000);
      }
      resolve(outcome);
    };
    const timer = setTimeout(() => settle('unreachable'), timeoutMs);
    client.handlers = {
      message: (msg) => {
        // In the task that read `resumed`: the channel takes the socket before the next (replayed) frame.
        if (msg.type === 'resumed') settle(channel.resumeOn(client, msg.lastReceived) ? 'resumed' : 'refused');
        else if (msg.type === 'error') settle('refused');
      },
      malformed: () => undefined,
      close: () => settle('unreachable'),
    };
    if (!client.send({ type: 'resume', token: grant.token, lastReceived: channel.lastReceived })) settle('unreachable');
  });
}

/** Whether a signaling socket to `url` opens (it is closed at once): tells a node that is gone from a network that is down. */
export async function reachable(url: string, timeoutMs: number): Promise<boolean> {
  try {
    (await SignalClient.open(url, timeoutMs)).close(1000);
    return true;
  } catch {
    return false;
  }
}
