import type { TokenConfig } from './options.js';

/** The IPC between the load test (main.ts) and its bot processes (bot-worker.ts). */

export type Role = 'publisher' | 'subscriber';

export interface PublishPlan {
  audioOnly: boolean;
  videoKbps: number;
  simulcast: boolean;
  layersKbps: number[];
}

export interface JoinRequest {
  index: number;
  role: Role;
  room: string;
  identity: string;
}

export type WorkerRequest =
  | { type: 'setup'; signalingUrl: string; token: TokenConfig; publish: PublishPlan }
  | ({ type: 'join' } & JoinRequest)
  | { type: 'stop' };

/** Counters since the worker started, for the live progress line. Receive figures cover subscriber bots only. */
export interface WorkerTick {
  type: 'tick';
  /** performance.now() in the worker: rates come from two ticks of the same worker. */
  at: number;
  cpuMicros: number;
  rxBytes: number;
  rxExpected: number;
  rxLost: number;
}

/** One bot's figures at the end; times in ms from the moment its join started. */
export interface BotResult {
  index: number;
  role: Role;
  joinMs?: number;
  publishedMs?: number;
  firstMediaMs?: number;
  /** RTP payload bytes received, and over how long (first packet to the end of the run). */
  rxBytes: number;
  rxSeconds: number;
  rxExpected: number;
  rxLost: number;
  rttsMs: number[];
}

export type WorkerReply =
  | { type: 'ready' }
  | { type: 'joined'; index: number }
  | { type: 'failed'; index: number; code: string; message: string; afterJoin: boolean }
  | WorkerTick
  | {
      type: 'result';
      bots: BotResult[];
      cpuMicros: number;
      wallMs: number;
      maxEventLoopDelayMs: number;
      rssBytes: number;
      /** Signaling `error` messages the bots received, by code. */
      serverErrors: Record<string, number>;
    };
