/**
 * When one peer connection restarts ICE, and when the SDK gives up on restarts and joins again (docs/PROTOCOL.md,
 * "ICE restart"). A connection `disconnected` for `graceMs` (Chromium reports it 5 to 7 s after the last packet, and
 * often comes back by itself as soon as the path does), or `failed`, is restarted; still not connected `retryMs`
 * after a restart (its checks may have run out while the path was down), or `failed` again, it is restarted once
 * more; not connected `timeoutMs` after the first restart, it is given up: the owner joins again, as it did for every
 * `failed` connection before restarts existed. The owner passes each state; the clock and timers are injected.
 */

export type IceTroubleReason = 'disconnected' | 'failed';

export interface IceRecoveryHooks {
  /** Restart ICE once (publisher: an offer with new credentials; subscriber: ask the server for one). */
  restart(): void;
  /** The first restart of an outage. */
  restarting(reason: IceTroubleReason): void;
  /** Connected again after restarts; `outageMs` from the moment the trouble was seen. */
  restored(outageMs: number, restarts: number): void;
  /** Not connected `timeoutMs` after the first restart. */
  giveUp(): void;
}

export interface IceRecoveryTiming {
  graceMs: number;
  retryMs: number;
  timeoutMs: number;
}

export const DEFAULT_ICE_RECOVERY_TIMING: IceRecoveryTiming = { graceMs: 1000, retryMs: 4000, timeoutMs: 10_000 };

export interface Clock {
  now(): number;
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const realClock: Clock = {
  now: () => performance.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

export class IceRecovery {
  /** When the current outage was first seen (disconnected or failed), until connected again. */
  private troubleAt: number | undefined;
  private restarts = 0;
  private lastRestartAt = -Infinity;
  private restartTimer: unknown;
  private deadlineTimer: unknown;
  private state: RTCPeerConnectionState = 'new';
  private closed = false;

  constructor(
    private readonly hooks: IceRecoveryHooks,
    private readonly timing: IceRecoveryTiming = DEFAULT_ICE_RECOVERY_TIMING,
    private readonly clock: Clock = realClock,
  ) {}

  /** The connection's `connectionState` changed. */
  update(state: RTCPeerConnectionState): void {
    if (this.closed || state === this.state) return;
    this.state = state;
    const now = this.clock.now();
    if (state === 'connected') {
      const { troubleAt, restarts } = this;
      this.reset();
      if (troubleAt !== undefined && restarts > 0) this.hooks.restored(now - troubleAt, restarts);
      return;
    }
    if (state !== 'disconnected' && state !== 'failed') return; // new, connecting (a restart's checks), closed
    this.troubleAt ??= now;
    if (state === 'failed') {
      // At once, unless a restart was just sent (its own checks are what failed only if they had time to run).
      if (now - this.lastRestartAt >= this.timing.graceMs) this.restart('failed');
      return;
    }
    if (this.restarts === 0 && this.restartTimer === undefined) this.schedule(this.timing.graceMs, 'disconnected');
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.reset();
  }

  private schedule(ms: number, reason: IceTroubleReason): void {
    this.clock.clearTimeout(this.restartTimer);
    this.restartTimer = this.clock.setTimeout(() => {
      this.restartTimer = undefined;
      if (!this.closed && this.state !== 'connected') this.restart(reason);
    }, ms);
  }

  private restart(reason: IceTroubleReason): void {
    this.lastRestartAt = this.clock.now();
    if (this.restarts++ === 0) {
      this.hooks.restarting(reason);
      this.deadlineTimer = this.clock.setTimeout(() => {
        this.deadlineTimer = undefined;
        if (this.closed || this.state === 'connected') return;
        this.close();
        this.hooks.giveUp();
      }, this.timing.timeoutMs);
    }
    this.schedule(this.timing.retryMs, reason);
    this.hooks.restart();
  }

  private reset(): void {
    this.clock.clearTimeout(this.restartTimer);
    this.clock.clearTimeout(this.deadlineTimer);
    this.restartTimer = undefined;
    this.deadlineTimer = undefined;
    this.troubleAt = undefined;
    this.restarts = 0;
    this.lastRestartAt = -Infinity;
  }
}
