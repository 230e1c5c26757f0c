import type { ClientMessage } from '../../signaling/messages.js';
import type { SignalClient, SignalClientHandlers } from './signal-client.js';

/** Frames kept for a resume: what the server may not have read when the socket dropped. */
const SENT_LOG_LIMIT = 256;
/** Silence from the server beyond its heartbeat interval plus this gets a `ping`... */
const SILENCE_MARGIN_MS = 1_000;
/** ...and a socket that does not answer it within this is taken for dead (a blackholed connection never closes by itself). */
const PING_TIMEOUT_MS = 2_000;
const LIVENESS_CHECK_MS = 500;

export interface ResumeGrant {
  token: string;
  graceMs: number;
}

/**
 * A joined session's signaling, across sockets: frames are counted both ways (the server's `rtt` reports
 * excepted, as the server does) and the last ones sent are kept, so that after the socket drops the session can be
 * resumed on a new one (docs/PROTOCOL.md, "Resuming"): the server replays what this side missed, and this side what
 * the server missed. While no socket is bound, `send` keeps frames for the replay. Also watches the socket: the
 * server heartbeats every `heartbeatMs` and a silent socket gets a `ping`, then is dropped.
 */
export class ResumableSignal {
  handlers: SignalClientHandlers | undefined;
  private client: SignalClient | undefined;
  private sent = 0;
  private received = 0;
  private readonly sentLog: ClientMessage[] = [];
  private lastHeardAt = performance.now();
  private pingSentAt: number | undefined;
  private closed = false;
  private readonly liveness: ReturnType<typeof setInterval>;

  constructor(
    client: SignalClient,
    /** Absent when the server does not keep sessions for a resume. */
    readonly resume: ResumeGrant | undefined,
    private readonly heartbeatMs: number,
  ) {
    this.bind(client);
    this.liveness = setInterval(() => this.checkLiveness(), LIVENESS_CHECK_MS);
  }

  /** Frames read since `joined`: what a `resume` request reports. */
  get lastReceived(): number {
    return this.received;
  }

  /** Sends now if a socket is bound; a resumable session also keeps it for a replay. False once closed (or not resumable and unbound). */
  send(msg: ClientMessage): boolean {
    if (this.closed) return false;
    if (this.resume) {
      this.sent++;
      this.sentLog.push(msg);
      if (this.sentLog.length > SENT_LOG_LIMIT) this.sentLog.shift();
    }
    const delivered = this.client?.send(msg) ?? false;
    return delivered || this.resume !== undefined;
  }

  /**
   * After `resumed` on `client` (the server read `serverReceived` of this side's frames): binds it and sends the
   * rest. False, binding nothing, when they are no longer kept.
   */
  resumeOn(client: SignalClient, serverReceived: number): boolean {
    const missing = this.sent - serverReceived;
    if (this.closed || missing < 0 || missing > this.sentLog.length) return false;
    this.bind(client);
    for (const msg of this.sentLog.slice(this.sentLog.length - missing)) client.send(msg);
    return true;
  }

  close(code = 1000): void {
    this.closed = true;
    clearInterval(this.liveness);
    this.unbind()?.close(code);
  }

  private bind(client: SignalClient): void {
    this.client = client;
    this.lastHeardAt = performance.now();
    this.pingSentAt = undefined;
    client.handlers = {
      message: (msg) => {
        this.lastHeardAt = performance.now();
        this.pingSentAt = undefined;
        if (msg.type !== 'rtt') this.received++;
        this.handlers?.message(msg);
      },
      malformed: (reason) => this.handlers?.malformed(reason),
      close: (code, reason) => this.lost(code, reason),
    };
  }

  private unbind(): SignalClient | undefined {
    const client = this.client;
    if (client) client.handlers = undefined;
    this.client = undefined;
    return client;
  }

  private lost(code: number, reason: string): void {
    this.unbind();
    if (!this.closed) this.handlers?.close(code, reason);
  }

  private checkLiveness(): void {
    const client = this.client;
    if (!client) return;
    const now = performance.now();
    if (this.pingSentAt !== undefined) {
      if (now - this.pingSentAt < PING_TIMEOUT_MS) return;
      // No close frame will come through a dead connection: treat it as dropped (1006) now. 4000: "resuming".
      client.close(4000, 'no answer; resuming');
      this.lost(1006, `no answer from the server within ${PING_TIMEOUT_MS} ms`);
      return;
    }
    if (now - this.lastHeardAt > this.heartbeatMs + SILENCE_MARGIN_MS && this.send({ type: 'ping' })) this.pingSentAt = now;
  }
}
