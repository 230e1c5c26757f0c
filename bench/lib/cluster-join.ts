import { reconnectDelayMs, retryJoinAfter } from '../../client/sdk/reconnect-policy.js';
import { SignalingClient } from '../../test/helpers/signaling-client.js';
import { sleep } from './stats.js';

/** One socket's try: what came back, when (performance.now()), and from where. */
export interface JoinStep {
  url: string;
  at: number;
  outcome: 'joined' | 'redirect' | 'refused' | 'closed' | 'error';
  /** The error code, the redirect's node id, or the close code. */
  detail?: string;
}

export class JoinFailed extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
    this.name = 'JoinFailed';
  }
}

// As the SDK (client/sdk/join.ts): at most 3 redirects; ROOM_UNAVAILABLE retried with 250 ms doubling to 4 s, full jitter.
const MAX_REDIRECTS = 3;
const RETRY_BASE_MS = 250;
const RETRY_MAX_MS = 4000;

async function joinOnce(url: string, room: string, token: string, steps: JoinStep[]): Promise<SignalingClient | string> {
  let client: SignalingClient;
  try {
    client = await SignalingClient.connect(url, { perMessageDeflate: false });
  } catch (error) {
    steps.push({ url, at: performance.now(), outcome: 'refused', detail: (error as NodeJS.ErrnoException).code ?? String(error) });
    throw new JoinFailed(`cannot connect to ${url}`, 'CONNECTION_REFUSED');
  }
  client.socket.on('error', () => undefined);
  client.send({ type: 'join', room, token, protocolVersion: 1 });
  const reply = await Promise.race([client.waitForOneOf(['joined', 'redirect', 'error'], 15_000), client.closed.then((c) => ({ type: 'closed' as const, code: c.code }))]);
  const at = performance.now();
  if (reply.type === 'joined') {
    steps.push({ url, at, outcome: 'joined' });
    return client;
  }
  client.close();
  if (reply.type === 'redirect') {
    steps.push({ url, at, outcome: 'redirect', detail: reply.nodeId });
    return reply.signalingUrl;
  }
  if (reply.type === 'error') {
    steps.push({ url, at, outcome: 'error', detail: reply.code });
    throw new JoinFailed(`${reply.code}: ${reply.message}`, reply.code);
  }
  steps.push({ url, at, outcome: 'closed', detail: String(reply.code) });
  throw new JoinFailed(`closed with ${reply.code} before joining`, 'CONNECTION_CLOSED');
}

/** The SDK's joinRoom: follows redirects, retries ROOM_UNAVAILABLE with backoff; resolves with the joined socket and its URL. */
export async function joinLikeSdk(url: string, room: string, token: string, steps: JoinStep[] = [], timeoutMs = 15_000): Promise<{ client: SignalingClient; url: string }> {
  const deadline = performance.now() + timeoutMs;
  let target = url;
  let redirects = 0;
  for (let attempt = 0; ; attempt++) {
    try {
      const result = await joinOnce(target, room, token, steps);
      if (typeof result !== 'string') return { client: result, url: target };
      if (++redirects > MAX_REDIRECTS) throw new JoinFailed(`more than ${MAX_REDIRECTS} redirects`, 'CONNECTION_CLOSED');
      target = result;
    } catch (error) {
      const wait = Math.random() * Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** attempt);
      if (!(error instanceof JoinFailed) || error.code !== 'ROOM_UNAVAILABLE' || performance.now() + wait >= deadline) throw error;
      await sleep(wait);
    }
  }
}

/**
 * The SDK's reconnect loop (client/sdk/room.ts): wait reconnectDelayMs(attempt) (250 ms doubling to 2 s, full
 * jitter; not after a URL whose socket did not open, until each URL has been tried in a row), then join through the
 * next URL in turn, until joined or `timeoutMs`.
 */
export async function rejoinLikeSdk(
  urls: () => readonly string[],
  room: string,
  token: string,
  steps: JoinStep[],
  onTry: (at: number) => void = () => undefined,
  timeoutMs = 60_000,
): Promise<{ client: SignalingClient; url: string }> {
  const deadline = performance.now() + timeoutMs;
  let last: unknown;
  // As the SDK: a URL whose socket did not open is followed by the next one at once, until each has been tried.
  let unreachableInRow = 0;
  for (let attempt = 0; performance.now() < deadline; attempt++) {
    const list = urls();
    if (unreachableInRow === 0 || unreachableInRow % list.length === 0) await sleep(reconnectDelayMs(attempt));
    onTry(performance.now());
    try {
      return await joinLikeSdk(list[attempt % list.length], room, token, steps, Math.max(1000, deadline - performance.now()));
    } catch (error) {
      last = error;
      unreachableInRow = error instanceof JoinFailed && error.code === 'CONNECTION_REFUSED' ? unreachableInRow + 1 : 0;
      if (error instanceof JoinFailed && !retryJoinAfter(error.code)) break;
    }
  }
  throw new Error(`rejoin failed: ${(last as Error)?.message}`);
}
