import type { Role, WorkerTick } from './messages.js';

/** Joins so far and each bot process's latest counters: what the progress line shows and when the run stops early. */
export class LiveTally {
  joined = 0;
  failed = 0;
  /** Bots the server disconnected after they had joined. */
  dropped = 0;
  readonly failuresByCode = new Map<string, { count: number; message: string }>();
  readonly droppedByCode = new Map<string, number>();
  /** Each bot process's latest two ticks. */
  readonly #ticks: { last?: WorkerTick; previous?: WorkerTick }[];
  #subscribersUp = 0;
  /** Each bot process's latest tick when the steady state began (the last join was sent). */
  #steadyFrom?: (WorkerTick | undefined)[];

  constructor(
    readonly total: number,
    workers: number,
  ) {
    this.#ticks = Array.from({ length: workers }, () => ({}));
  }

  onJoined(role: Role): void {
    this.joined++;
    if (role === 'subscriber') this.#subscribersUp++;
  }

  onFailed(code: string, message: string, afterJoin: boolean, role: Role): void {
    if (afterJoin) {
      this.dropped++;
      if (role === 'subscriber') this.#subscribersUp--;
      this.droppedByCode.set(code, (this.droppedByCode.get(code) ?? 0) + 1);
      return;
    }
    this.failed++;
    const seen = this.failuresByCode.get(code);
    this.failuresByCode.set(code, { count: (seen?.count ?? 0) + 1, message: seen?.message ?? message });
  }

  onTick(worker: number, tick: WorkerTick): void {
    const ticks = this.#ticks[worker];
    ticks.previous = ticks.last;
    ticks.last = tick;
    // A process that had not ticked yet when the steady state began starts it with its first tick.
    if (this.#steadyFrom && !this.#steadyFrom[worker]) this.#steadyFrom[worker] = tick;
  }

  markSteady(): void {
    this.#steadyFrom = this.#ticks.map((t) => t.last);
  }

  /** Each bot process's CPU (% of one core) from markSteady() to its latest tick; null where unknown. */
  steadyCpuPercent(): (number | null)[] {
    return this.#ticks.map(({ last }, i) => {
      const from = this.#steadyFrom?.[i];
      if (!last || !from || last.at <= from.at) return null;
      return Math.round(((last.cpuMicros - from.cpuMicros) / 1000 / (last.at - from.at)) * 100);
    });
  }

  /** Every join has been answered (joined or failed). */
  get settled(): boolean {
    return this.joined + this.failed >= this.total;
  }

  /** Bots still in their rooms. */
  get alive(): number {
    return this.joined - this.dropped;
  }

  /** The run cannot tell anything more: the first `n` joins all failed and none succeeded. */
  hopeless(n: number): boolean {
    return this.joined === 0 && this.failed >= Math.min(n, this.total);
  }

  /** The progress line: joins, then receive bitrate and loss over each bot process's last second, and its CPU. */
  line(elapsedSeconds: number): string {
    const parts = [`${elapsedSeconds.toFixed(0)}s`, `joined ${this.joined}/${this.total}`, `failed ${this.failed}`];
    if (this.dropped) parts.push(`dropped ${this.dropped}`);
    let bitsPerSecond = 0;
    let expected = 0;
    let lost = 0;
    const cpu: string[] = [];
    for (const { last, previous } of this.#ticks) {
      if (!last || !previous || last.at <= previous.at) {
        cpu.push('-');
        continue;
      }
      const seconds = (last.at - previous.at) / 1000;
      bitsPerSecond += ((last.rxBytes - previous.rxBytes) * 8) / seconds;
      expected += last.rxExpected - previous.rxExpected;
      lost += last.rxLost - previous.rxLost;
      cpu.push(`${(((last.cpuMicros - previous.cpuMicros) / 1e6 / seconds) * 100).toFixed(0)}%`);
    }
    const perSubscriber = this.#subscribersUp > 0 ? ` (${(bitsPerSecond / 1000 / this.#subscribersUp).toFixed(0)} kbit/s per subscriber)` : '';
    const loss = expected > 0 ? (Math.max(0, lost) / expected) * 100 : 0;
    parts.push(`rx ${(bitsPerSecond / 1e6).toFixed(1)} Mbit/s${perSubscriber}`, `loss ${loss.toFixed(2)}%`, `bot CPU ${cpu.join(' ')}`);
    return parts.join('  ');
  }
}
