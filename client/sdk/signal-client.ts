import type { ClientMessage, ServerMessage } from '../../signaling/messages.js';

export interface SignalClientHandlers {
  message(msg: ServerMessage): void;
  /** A frame that is not a JSON object with a string `type`. */
  malformed(reason: string): void;
  close(code: number, reason: string): void;
}

/**
 * The signaling WebSocket (docs/PROTOCOL.md): JSON text frames in both directions. Knows nothing of rooms;
 * the owner sets `handlers` before the first message can arrive (i.e. before sending `join`).
 */
export class SignalClient {
  handlers: SignalClientHandlers | undefined;
  private closed = false;

  private constructor(
    private readonly ws: WebSocket,
    /** How long the socket took to open, in ms (reported in `clientMetrics`). */
    readonly openMs: number,
  ) {
    ws.onmessage = (event: MessageEvent) => this.receive(event.data);
    ws.onclose = (event: CloseEvent) => {
      this.closed = true;
      this.handlers?.close(event.code, event.reason);
    };
  }

  /** Opens the socket; rejects if it fails to open within `timeoutMs`. */
  static open(url: string, timeoutMs: number): Promise<SignalClient> {
    return new Promise((resolve, reject) => {
      const startedAt = performance.now();
      const ws = new WebSocket(url);
      const timer = setTimeout(() => {
        ws.close();
        reject(new Error(`WebSocket ${url} did not open within ${timeoutMs} ms`));
      }, timeoutMs);
      ws.onopen = () => {
        clearTimeout(timer);
        resolve(new SignalClient(ws, performance.now() - startedAt));
      };
      ws.onclose = (event) => {
        clearTimeout(timer);
        reject(new Error(`WebSocket ${url} closed before opening (code ${event.code})`));
      };
    });
  }

  get isOpen(): boolean {
    return !this.closed && this.ws.readyState === WebSocket.OPEN;
  }

  /** Sends one message; returns false (and sends nothing) when the socket is no longer open. */
  send(msg: ClientMessage): boolean {
    if (!this.isOpen) return false;
    this.ws.send(JSON.stringify(msg));
    return true;
  }

  close(code = 1000, reason = ''): void {
    if (this.ws.readyState === WebSocket.CLOSING || this.ws.readyState === WebSocket.CLOSED) return;
    this.ws.close(code, reason);
  }

  private receive(data: unknown): void {
    if (typeof data !== 'string') {
      this.handlers?.malformed('binary signaling frame');
      return;
    }
    let msg: unknown;
    try {
      msg = JSON.parse(data);
    } catch {
      this.handlers?.malformed('signaling frame is not JSON');
      return;
    }
    if (typeof msg !== 'object' || msg === null || typeof (msg as { type?: unknown }).type !== 'string') {
      this.handlers?.malformed('signaling frame is not an object with a string type');
      return;
    }
    this.handlers?.message(msg as ServerMessage);
  }
}
