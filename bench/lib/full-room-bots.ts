/**
 * A share of the full-room benchmark's werift bots in a process of their own (bench/full-room.ts starts several),
 * so no one process does every bot's SDP work and starves their ICE consent checks.
 *
 * Requests: `join` (a bot joins and publishes camera and microphone, no RTP), `tracks` (the tracks another bot
 * published, so this process can tell when its bots have negotiated them), `sample` and `stop`. Replies and
 * events carry wall-clock times (performance.timeOrigin + performance.now(), comparable across processes):
 * `published`, `negotiated` (bot `bot` has negotiated every track of publisher `publisher`, the first time)
 * and `failed` (the server reported the bot's connection failed and closed it, or closed its signaling socket).
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Bot } from '../../test/helpers/bot.js';


export type BotsRequest =
  | { type: 'join'; index: number; signalingUrl: string; room: string }
  | { type: 'tracks'; index: number; tracks: string[] }
  | { type: 'sample' }
  | { type: 'stop' };

export type BotsReply =
  | { type: 'ready' }
  | { type: 'published'; index: number; tracks: string[]; at: number }
  | { type: 'negotiated'; bot: number; publisher: number; at: number }
  | { type: 'failed'; index: number; code: string; message: string; at: number }
  | { type: 'joinError'; index: number; message: string }
  | { type: 'sample'; cpuMicros: number; rssBytes: number; maxStallMs: number; offers: number; errors: Record<string, number>; errorMessages: string[] };

const FAILED_CODES = new Set(['CONNECTION_FAILED', 'NEGOTIATION_FAILED']);

interface LocalBot {
  index: number;
  bot?: Bot;
  /** Publishers whose every track this bot has negotiated (reported once each). */
  negotiated: Set<number>;
  answersSeen: number;
  /** Signaling messages already scanned for a failure. */
  scanned: number;
  failed: boolean;
}

const now = () => performance.timeOrigin + performance.now();
const send = (reply: BotsReply) => process.send?.(reply);
const bots = new Map<number, LocalBot>();
/** Every publisher's tracks, from this process and the others. */
const publishers = new Map<number, string[]>();
const loop = monitorEventLoopDelay({ resolution: 10 });
loop.enable();

function check(local: LocalBot): void {
  const bot = local.bot;
  if (!bot || local.failed) return;
  const messages = bot.signaling.messages;
  const error = messages.slice(local.scanned).find((m) => m.type === 'error' && FAILED_CODES.has(m.code));
  local.scanned = messages.length;
  if (error && error.type === 'error') {
    local.failed = true;
    send({ type: 'failed', index: local.index, code: error.code, message: error.message, at: now() });
    return;
  }
  if (bot.answersSent === local.answersSeen && local.negotiated.size === publishers.size) return;
  local.answersSeen = bot.answersSent;
  const carried = new Set(Object.values(bot.answeredTracks));
  for (const [publisher, tracks] of publishers) {
    if (publisher === local.index || local.negotiated.has(publisher)) continue;
    if (tracks.every((t) => carried.has(t))) {
      local.negotiated.add(publisher);
      send({ type: 'negotiated', bot: local.index, publisher, at: now() });
    }
  }
}

const poll = setInterval(() => {
  for (const local of bots.values()) check(local);
}, 20);

async function join(index: number, signalingUrl: string, room: string): Promise<void> {
  const local: LocalBot = { index, negotiated: new Set(), answersSeen: -1, scanned: 0, failed: false };
  bots.set(index, local);
  try {
    local.bot = await Bot.join(signalingUrl, room, `participant ${index} 🎓`, undefined, { textAnswers: true });
    // The server closing the signaling socket (a heartbeat timeout, a protocol error) also takes the bot out.
    void local.bot.signaling.closed.then(({ code, reason }) => {
      if (stopping || local.failed) return;
      local.failed = true;
      send({ type: 'failed', index, code: `CLOSED_${code}`, message: reason || 'the server closed the signaling socket', at: now() });
    });
    const tracks = await local.bot.publish({ sendMedia: false });
    send({ type: 'published', index, tracks, at: now() });
  } catch (error) {
    send({ type: 'joinError', index, message: (error as Error).message });
  }
}

let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  clearInterval(poll);
  await Promise.all([...bots.values()].map((b) => b.bot?.close()));
  process.exit(0);
}

process.on('message', (request: BotsRequest) => {
  if (request.type === 'join') void join(request.index, request.signalingUrl, request.room);
  else if (request.type === 'tracks') {
    publishers.set(request.index, request.tracks);
    // Publishers' own tracks count as negotiated only through the server: nothing to check until an answer.
    for (const local of bots.values()) local.answersSeen = -1;
  } else if (request.type === 'sample') {
    const { user, system } = process.cpuUsage();
    const errors: Record<string, number> = {};
    const messages = new Set<string>();
    let offers = 0;
    for (const { bot } of bots.values()) {
      if (!bot) continue;
      offers += bot.offersReceived;
      for (const m of bot.signaling.messages) {
        if (m.type !== 'error') continue;
        errors[m.code] = (errors[m.code] ?? 0) + 1;
        if (messages.size < 10) messages.add(`${m.code} (${m.requestType ?? '-'}): ${m.message}`);
      }
    }
    send({ type: 'sample', cpuMicros: user + system, rssBytes: process.memoryUsage().rss, maxStallMs: loop.max / 1e6, offers, errors, errorMessages: [...messages] });
  } else if (request.type === 'stop') void stop();
});
process.on('disconnect', () => void stop());
send({ type: 'ready' });
