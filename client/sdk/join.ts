import type { ServerMessage } from '../../signaling/messages.js';
import { ClientErrorCode, RequestError } from './errors.js';
import { SignalClient } from './signal-client.js';

export type Joined = Extract<ServerMessage, { type: 'joined' }>;

/** The protocol version this SDK speaks (signaling/messages.ts PROTOCOL_VERSION; only its types are imported). */
export const PROTOCOL_VERSION = 1;
/** A room is on one node: more redirects than this mean the nodes disagree, and the join fails. */
const MAX_REDIRECTS = 3;
/** Retries of a join the server could not place now (ROOM_UNAVAILABLE: the cluster's store is away): backoff with full jitter. */
const RETRY_BASE_MS = 250;
const RETRY_MAX_MS = 4000;

export interface JoinRequest {
  roomId: string;
  token: string;
  autoSubscribe: boolean;
  /** The whole join, redirects and retries included, must finish within this. */
  timeoutMs: number;
}

class Redirect {
  constructor(readonly signalingUrl: string) {}
}

/**
 * Opens a signaling socket and joins, following the server's `redirect` to the node that serves the room and
 * retrying a join the cluster cannot place now; resolves with the joined socket (and the URL it joined at), whose handlers the caller must set
 * before the next frame is read (i.e. synchronously, in the same task).
 */
export async function joinRoom(url: string, request: JoinRequest): Promise<{ signal: SignalClient; joined: Joined; url: string }> {
  const deadline = Date.now() + request.timeoutMs;
  let target = url;
  let redirects = 0;
  for (let attempt = 0; ; attempt++) {
    try {
      return { ...(await joinOnce(target, request, deadline - Date.now())), url: target };
    } catch (error) {
      if (error instanceof Redirect) {
        if (++redirects > MAX_REDIRECTS) throw new RequestError(ClientErrorCode.CONNECTION_CLOSED, `more than ${MAX_REDIRECTS} redirects`, 'join');
        target = error.signalingUrl;
        continue;
      }
      const wait = Math.random() * Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** attempt);
      if (!(error instanceof RequestError) || error.code !== 'ROOM_UNAVAILABLE' || Date.now() + wait >= deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }
}

async function joinOnce(url: string, request: JoinRequest, timeoutMs: number): Promise<{ signal: SignalClient; joined: Joined }> {
  if (timeoutMs <= 0) throw new RequestError(ClientErrorCode.TIMEOUT, 'the join did not finish in time', 'join');
  const signal = await SignalClient.open(url, timeoutMs);
  return new Promise((resolve, reject) => {
    let settled = false;
    const fail = (err: unknown): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal.handlers = undefined;
      signal.close();
      reject(err);
    };
    const timer = setTimeout(() => fail(new RequestError(ClientErrorCode.TIMEOUT, `no joined message within ${timeoutMs} ms`, 'join')), timeoutMs);
    signal.handlers = {
      message: (msg) => {
        if (msg.type === 'joined') {
          settled = true;
          clearTimeout(timer);
          resolve({ signal, joined: msg });
        } else if (msg.type === 'redirect') {
          fail(new Redirect(msg.signalingUrl));
        } else if (msg.type === 'error') {
          fail(new RequestError(msg.code, msg.message, msg.requestType ?? 'join'));
        }
      },
      malformed: () => undefined,
      close: (code, reason) =>
        fail(new RequestError(ClientErrorCode.CONNECTION_CLOSED, `the socket closed before joining (code ${code}${reason ? `: ${reason}` : ''})`, 'join', code)),
    };
    const join = { type: 'join', room: request.roomId, token: request.token, protocolVersion: PROTOCOL_VERSION, autoSubscribe: request.autoSubscribe } as const;
    if (!signal.send(join)) fail(new RequestError(ClientErrorCode.CONNECTION_CLOSED, 'the socket closed before join was sent', 'join'));
  });
}
