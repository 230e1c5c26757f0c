import { execFileSync } from 'node:child_process';
import { inOwnNetworkNamespace } from './link-shaper.js';

/**
 * Cuts every UDP datagram to or from a range of ports on `lo` (iptables DROP in INPUT, which sees each loopback
 * datagram once), e.g. a test server's media ports (`rtc.portMin`..`rtc.portMax`): the signaling WebSocket (TCP) and
 * the TURN server's own ports go on working. Other test files run beside this one in the same namespace, so the
 * range must be one no other server uses. Refuses to run outside the suite's own network namespace.
 */
export class MediaPathCut {
  readonly #rules: string[][];
  #active = false;

  constructor(portMin: number, portMax: number) {
    if (!inOwnNetworkNamespace) throw new Error('MediaPathCut changes iptables: run inside scripts/in-netns.sh (npm test does)');
    const range = `${portMin}:${portMax}`;
    this.#rules = [
      ['INPUT', '-p', 'udp', '--dport', range, '-j', 'DROP'],
      ['INPUT', '-p', 'udp', '--sport', range, '-j', 'DROP'],
    ];
  }

  get active(): boolean {
    return this.#active;
  }

  cut(): void {
    if (this.#active) return;
    this.#active = true;
    for (const rule of this.#rules) iptables('-I', rule);
  }

  /** Lifts the cut; idempotent (call it in `finally`). */
  restore(): void {
    if (!this.#active) return;
    this.#active = false;
    for (const rule of this.#rules) iptables('-D', rule);
  }

  /** Datagrams the cut dropped so far (its rules' packet counters). */
  dropped(): number {
    const listing = execFileSync('iptables', ['-L', 'INPUT', '-v', '-n', '-x'], { encoding: 'utf8' });
    const ranges = new Set(this.#rules.map((rule) => rule[4]));
    let total = 0;
    for (const line of listing.split('\n')) {
      if (!/\bDROP\b/.test(line) || !/\budp\b/.test(line)) continue;
      if ([...ranges].some((range) => line.includes(`pts:${range}`))) total += Number(line.trim().split(/\s+/)[0]);
    }
    return total;
  }
}

function iptables(action: '-I' | '-D', rule: string[]): void {
  execFileSync('iptables', [action, ...rule], { stdio: ['ignore', 'ignore', 'pipe'] });
}
