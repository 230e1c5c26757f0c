import { fork, type ChildProcess } from 'node:child_process';

/** A `node --import tsx` child with IPC: typed request/reply by message `type`, and a stop that always ends it. */
export class Child<Request extends { type: string }, Reply extends { type: string }> {
  private constructor(readonly process: ChildProcess) {}

  static async start<Req extends { type: string }, Rep extends { type: string }>(
    entry: string,
    args: string[],
    extraExecArgv: string[] = [],
  ): Promise<{ child: Child<Req, Rep>; ready: Extract<Rep, { type: 'ready' }> }> {
    const proc = fork(entry, args, { execArgv: ['--import', 'tsx', ...extraExecArgv], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const ready = await new Promise<Extract<Rep, { type: 'ready' }>>((resolve, reject) => {
      proc.once('message', (m: Rep) => (m.type === 'ready' ? resolve(m as Extract<Rep, { type: 'ready' }>) : reject(new Error(`unexpected ${m.type}`))));
      proc.once('exit', (code) => reject(new Error(`${entry} exited with ${code}`)));
    });
    return { child: new Child<Req, Rep>(proc), ready };
  }

  /** Sends `request` and resolves with the next reply of type `replyType`. */
  ask<T extends Reply['type']>(request: Request, replyType: T): Promise<Extract<Reply, { type: T }>> {
    return new Promise((resolve) => {
      const onMessage = (m: Reply) => {
        if (m.type !== replyType) return;
        this.process.off('message', onMessage);
        resolve(m as Extract<Reply, { type: T }>);
      };
      this.process.on('message', onMessage);
      this.process.send(request);
    });
  }

  /** Sends `request` (which makes the child exit) and waits up to 15 s before killing it. */
  async stop(request: Request): Promise<void> {
    if (this.process.exitCode !== null || this.process.signalCode !== null) return;
    const exited = new Promise((resolve) => this.process.once('exit', resolve));
    this.process.send(request);
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 15_000))]);
    if (this.process.exitCode === null && this.process.signalCode === null) this.process.kill('SIGKILL');
  }
}
