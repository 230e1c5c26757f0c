import WebSocket from 'ws';
import { mintToken, type MintTokenOptions } from '../../signaling/tokens.js';
import type { ServerMessage } from '../../signaling/messages.js';
import { TEST_KID, TEST_SECRET } from './test-key.js';

type Msg = ServerMessage & Record<string, unknown>;

/** The server answered `join` with an error: `code` is its stable error code (e.g. TOKEN_INVALID, ROOM_FULL). */
export class JoinRefusedError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(`join refused: ${code} ${message}`);
    this.name = 'JoinRefusedError';
  }
}

/** A raw signaling WebSocket for tests: send JSON or bytes, wait for a message of a type, or for the close. */
export class SignalingClient {
  readonly messages: Msg[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  #waiters: { match: (m: Msg) => boolean; resolve: (m: Msg) => void }[] = [];

  private constructor(readonly socket: WebSocket) {
    socket.on('message', (data) => {
      const message = JSON.parse(data.toString()) as Msg;
      this.messages.push(message);
      this.#waiters = this.#waiters.filter((w) => (w.match(message) ? (w.resolve(message), false) : true));
    });
    this.closed = new Promise((resolve) => socket.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  }

  static async connect(url: string, options: WebSocket.ClientOptions = {}): Promise<SignalingClient> {
    const socket = new WebSocket(url, options);
    const client = new SignalingClient(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    return client;
  }

  send(message: unknown): void {
    this.socket.send(typeof message === 'string' || Buffer.isBuffer(message) ? message : JSON.stringify(message));
  }

  /** Resolves with the first message (already received or future) of `type` that passes `match`. */
  waitFor<T extends Msg['type']>(type: T, match: (m: Extract<Msg, { type: T }>) => boolean = () => true, timeoutMs = 15_000): Promise<Extract<Msg, { type: T }>> {
    const test = (m: Msg) => m.type === type && match(m as Extract<Msg, { type: T }>);
    const seen = this.messages.find(test);
    if (seen) return Promise.resolve(seen as Extract<Msg, { type: T }>);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for "${type}"; got ${this.messages.map((m) => m.type).join(',')}`)), timeoutMs);
      this.#waiters.push({
        match: test,
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m as Extract<Msg, { type: T }>);
        },
      });
    });
  }

  /** Resolves with the first message (already received or future) whose type is one of `types`. */
  waitForOneOf<T extends Msg['type']>(types: readonly T[], timeoutMs = 15_000): Promise<Extract<Msg, { type: T }>> {
    const seen = this.messages.find((m) => (types as readonly string[]).includes(m.type));
    if (seen) return Promise.resolve(seen as Extract<Msg, { type: T }>);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${types.join('|')}; got ${this.messages.map((m) => m.type).join(',')}`)), timeoutMs);
      this.#waiters.push({
        match: (m) => (types as readonly string[]).includes(m.type),
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m as Extract<Msg, { type: T }>);
        },
      });
    });
  }

  /** Sends a request and waits for the next error reply. */
  async expectError(message: unknown): Promise<Extract<Msg, { type: 'error' }>> {
    const before = this.messages.length;
    this.send(message);
    return this.waitFor('error', (m) => this.messages.indexOf(m) >= before);
  }

  close(): void {
    this.socket.close();
  }
}

export function testToken(options: Partial<MintTokenOptions> & { room: string; identity: string }): Promise<string> {
  return mintToken({ kid: TEST_KID, secret: TEST_SECRET, ...options });
}

/**
 * Connects and sends `join` (extra fields beside room and token allowed), following `redirect`s to the node that
 * serves the room, as the SDK does; resolves once joined, with the socket that joined and the URL it joined at.
 */
export async function joinFollowingRedirects(url: string, room: string, token: string, extra: Record<string, unknown> = {}) {
  let target = url;
  for (let hop = 0; hop <= 3; hop++) {
    // A bounded handshake: an address that drops packets fails the join instead of hanging until TCP gives up.
    const client = await SignalingClient.connect(target, { handshakeTimeout: 10_000 });
    client.send({ type: 'join', room, token, ...extra });
    const reply = await client.waitForOneOf(['joined', 'redirect', 'error']);
    if (reply.type === 'joined') return { client, joined: reply, url: target };
    client.close();
    if (reply.type === 'error') throw new JoinRefusedError(reply.code, reply.message);
    target = reply.signalingUrl;
  }
  throw new Error('more than 3 redirects');
}

/** Connects and joins; returns the client and its `joined` reply. */
export async function joinRoom(url: string, room: string, identity: string, grants?: MintTokenOptions['grants']) {
  const client = await SignalingClient.connect(url);
  client.send({ type: 'join', room, token: await testToken({ room, identity, grants }) });
  const joined = await client.waitFor('joined');
  return { client, joined };
}
