import { execFileSync } from 'node:child_process';

/** Whether this process runs inside the test suite's own network namespace (scripts/in-netns.sh). */
export const inOwnNetworkNamespace = process.env.TSFU_NETNS === '1';

const run = (command: string, args: string[]) => execFileSync(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });

/**
 * Shapes what one UDP port sends on `lo`, as a home link would: a rate limit with a bounded queue (htb, with a
 * bfifo leaf) and random loss (iptables' statistic match), each matched by source port so that only the server →
 * subscriber direction of one connection is touched. Refuses to run outside the suite's own namespace: `lo` there
 * is the machine's.
 */
export class LinkShaper {
  #rooted = false;
  readonly #limited = new Map<number, number>();
  readonly #dropping = new Set<string>();

  constructor() {
    if (!inOwnNetworkNamespace) throw new Error('LinkShaper shapes `lo`: run inside scripts/in-netns.sh (npm test does)');
  }

  /** Limits what `port` sends to `kbps`, with a queue holding `queueMs` at that rate (tail drop beyond). */
  limit(port: number, kbps: number, queueMs = 200): void {
    if (!this.#rooted) {
      run('tc', ['qdisc', 'replace', 'dev', 'lo', 'root', 'handle', '1:', 'htb', 'default', '1']);
      run('tc', ['class', 'replace', 'dev', 'lo', 'parent', '1:', 'classid', '1:1', 'htb', 'rate', '10gbit', 'quantum', '60000']);
      this.#rooted = true;
    }
    const classId = this.#limited.get(port) ?? this.#limited.size + 10;
    const queueBytes = Math.max(3000, Math.round((kbps * 1000 * queueMs) / 8000));
    const rate = `${kbps}kbit`;
    run('tc', ['class', 'replace', 'dev', 'lo', 'parent', '1:', 'classid', `1:${classId}`, 'htb', 'rate', rate, 'ceil', rate, 'burst', '3000', 'cburst', '3000', 'quantum', '1500']);
    run('tc', ['qdisc', 'replace', 'dev', 'lo', 'parent', `1:${classId}`, 'handle', `${classId}:`, 'bfifo', 'limit', String(queueBytes)]);
    if (!this.#limited.has(port)) {
      run('tc', ['filter', 'add', 'dev', 'lo', 'parent', '1:', 'protocol', 'ip', 'prio', '1', 'u32', 'match', 'ip', 'protocol', '17', '0xff', 'match', 'ip', 'sport', String(port), '0xffff', 'flowid', `1:${classId}`]);
      this.#limited.set(port, classId);
    }
  }

  /** Lifts the limit on `port`: its class gets the whole link. */
  unlimit(port: number): void {
    const classId = this.#limited.get(port);
    if (classId === undefined) return;
    run('tc', ['class', 'change', 'dev', 'lo', 'parent', '1:', 'classid', `1:${classId}`, 'htb', 'rate', '10gbit', 'ceil', '10gbit', 'quantum', '60000']);
  }

  /** Drops `percent` % of what `port` sends, at random. */
  drop(port: number, percent: number): void {
    const rule = ['OUTPUT', '-p', 'udp', '--sport', String(port), '-m', 'statistic', '--mode', 'random', '--probability', String(percent / 100), '-j', 'DROP'];
    run('iptables', ['-A', ...rule]);
    this.#dropping.add(JSON.stringify(rule));
  }

  /** How many packets `port`'s limit dropped so far (its queue overflowing). */
  droppedByLimit(port: number): number {
    const classId = this.#limited.get(port);
    if (classId === undefined) return 0;
    const out = execFileSync('tc', ['-s', 'qdisc', 'show', 'dev', 'lo', 'parent', `1:${classId}`], { encoding: 'utf8' });
    return Number(/dropped (\d+)/.exec(out)?.[1] ?? 0);
  }

  /** Removes every limit and drop this shaper added. */
  clear(): void {
    for (const rule of this.#dropping) run('iptables', ['-D', ...(JSON.parse(rule) as string[])]);
    this.#dropping.clear();
    if (this.#rooted) run('tc', ['qdisc', 'del', 'dev', 'lo', 'root']);
    this.#rooted = false;
    this.#limited.clear();
  }
}
