import { Bot } from '../../test/helpers/bot.js';
import { testToken } from '../../test/helpers/signaling-client.js';
import { joinLikeSdk, rejoinLikeSdk, type JoinStep } from './cluster-join.js';

/** What happened to one participant after its session was lost (performance.now() times). */
export interface Recovery {
  lostAt: number;
  closeCode: number;
  /** The reconnect loop's first join try (after its first backoff). */
  firstTryAt?: number;
  joinedAt?: number;
  /** Publisher: the `publishAnswer` for its track published again. */
  publishedAt?: number;
  /** Subscriber: the first video packet on the new session. */
  mediaAt?: number;
  /** Subscriber: the last video packet on the lost session. */
  lastMediaBeforeAt?: number;
  steps: JoinStep[];
}

/**
 * A werift bot that, like the SDK, joins again by itself when its session is lost (node killed, drained, room
 * moved): through `urls()` in turn with the SDK's backoff; a publisher publishes its video again.
 */
export class ClusterParticipant {
  bot?: Bot;
  /** The signaling URL of the node this participant is joined at (undefined while it is not). */
  nodeUrl?: string;
  readonly recoveries: Recovery[] = [];
  failed?: string;
  #token = '';
  #closed = false;
  #generation = 0;
  #lastVideoAt?: number;

  constructor(
    readonly identity: string,
    readonly room: string,
    readonly role: 'publisher' | 'subscriber',
    private readonly urls: () => readonly string[],
  ) {}

  async start(url: string): Promise<void> {
    this.#token = await testToken({ room: this.room, identity: this.identity, ttlSeconds: 3600 });
    const { client, url: at } = await joinLikeSdk(url, this.room, this.#token);
    await this.#attach(client, at);
  }

  /** Video packets received on the current session. */
  videoPackets(): number {
    return [...(this.bot?.received.values() ?? [])].filter((t) => t.kind === 'video').reduce((n, t) => n + t.packets, 0);
  }

  get recovering(): boolean {
    const last = this.recoveries.at(-1);
    return last !== undefined && (this.role === 'publisher' ? last.publishedAt === undefined : last.mediaAt === undefined) && !this.failed;
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.nodeUrl = undefined;
    await this.bot?.close();
  }

  async #attach(client: Bot['signaling'], url: string): Promise<void> {
    const generation = ++this.#generation;
    const bot = Bot.attach(this.identity, client, {
      onRtp: (_packet, track) => {
        if (track.kind !== 'video' || generation !== this.#generation) return;
        const now = performance.now();
        this.#lastVideoAt = now;
        const recovery = this.recoveries.at(-1);
        if (recovery && recovery.mediaAt === undefined) recovery.mediaAt = now;
      },
    });
    this.bot = bot;
    this.nodeUrl = url;
    void client.closed.then(({ code }) => this.#lost(bot, code));
    if (this.role === 'publisher') {
      await bot.publish({ audio: false, videoKbps: 300 });
      const recovery = this.recoveries.at(-1);
      if (recovery && generation > 1) recovery.publishedAt = performance.now();
    }
  }

  async #lost(bot: Bot, code: number): Promise<void> {
    if (this.#closed || bot !== this.bot) return;
    const recovery: Recovery = { lostAt: performance.now(), closeCode: code, lastMediaBeforeAt: this.#lastVideoAt, steps: [] };
    this.recoveries.push(recovery);
    this.nodeUrl = undefined;
    this.#generation++; // packets still arriving on the old connection do not count
    void bot.close();
    try {
      const { client, url } = await rejoinLikeSdk(this.urls, this.room, this.#token, recovery.steps, (at) => (recovery.firstTryAt ??= at));
      recovery.joinedAt = performance.now();
      if (this.#closed) {
        client.close();
        return;
      }
      await this.#attach(client, url);
    } catch (error) {
      this.failed = (error as Error).message;
    }
  }
}
