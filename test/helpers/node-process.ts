import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { TEST_KID, TEST_SECRET } from './server.js';

const MAIN = fileURLToPath(new URL('../../dist/server/main.js', import.meta.url));

/**
 * A media node as operators run it: `node dist/server/main.js` in a process of its own, configured by environment
 * (port 0: the OS picks; the URLs are read from its 'server listening' log line), with the test key. Killed by PID.
 */
export class NodeProcess {
  readonly exited: Promise<number | null>;

  private constructor(
    private readonly child: ChildProcess,
    readonly url: string,
    readonly signalingUrl: string,
    readonly nodeId: string,
  ) {
    this.exited = child.exitCode !== null ? Promise.resolve(child.exitCode) : new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  static async start(nodeId: string, env: Record<string, string>): Promise<NodeProcess> {
    const child = spawn(process.execPath, [MAIN], {
      env: {
        PATH: process.env.PATH ?? '',
        TSFU_NODE_ID: nodeId,
        TSFU_HTTP_PORT: '0',
        TSFU_AUTH_KEYS: `${TEST_KID}:${TEST_SECRET}`,
        TSFU_TURN_ENABLED: 'false',
        TSFU_LOG_LEVEL: 'info',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const lines = createInterface({ input: child.stdout! });
    const listening = await new Promise<{ url: string; signaling: string }>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`node ${nodeId} did not start within 15 s`)), 15_000);
      child.once('exit', (code) => reject(new Error(`node ${nodeId} exited with ${code} before listening`)));
      lines.on('line', (line) => {
        try {
          const entry = JSON.parse(line) as { msg?: string; url?: string; signaling?: string };
          if (entry.msg === 'server listening' && entry.url && entry.signaling) {
            clearTimeout(timer);
            resolve({ url: entry.url, signaling: entry.signaling });
          }
        } catch {
          // not a log line
        }
      });
    });
    return new NodeProcess(child, listening.url, listening.signaling, nodeId);
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Freezes the process (SIGSTOP), as a VM pause or a stalled host would. */
  pause(): void {
    this.child.kill('SIGSTOP');
  }

  resume(): void {
    this.child.kill('SIGCONT');
  }

  /** Sends `signal` (SIGKILL: the node dies at once) and waits for the exit. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (this.running) this.child.kill(signal);
    await this.exited;
  }
}
