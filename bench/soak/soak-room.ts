import type { DataLedger } from './data-ledger.js';
import type { DeliveryLedger } from './delivery-ledger.js';
import { SoakParticipant, type ParticipantPlan } from './soak-participant.js';
import { sleep } from '../lib/stats.js';

export interface RoomPlan {
  id: string;
  participants: number;
  /** The first this many participants publish video and audio; the others audio only. */
  videoPublishers: number;
  videoPps: number;
  dataIntervalMs: number;
  /** Pause between a participant's leave and its rejoin (same identity). */
  rejoinDelayMs: number;
}

/** Wraps within 200 packets: about 1.3 s of 150 pkt/s video, 4 s of audio. */
const NEAR_WRAP = 0x10000 - 200;

/**
 * A soak room: `participants` bots, one of which at a time leaves and rejoins (`churn`), in turn, so every
 * identity (the video publishers too) comes and goes during a long run.
 */
export class SoakRoom {
  readonly #present: (SoakParticipant | undefined)[];
  readonly #incarnations: number[];
  readonly #all: SoakParticipant[] = [];
  #next = 0;
  churns = 0;
  readonly errors: string[] = [];

  constructor(
    readonly plan: RoomPlan,
    private readonly signalingUrl: string,
    private readonly media: DeliveryLedger,
    private readonly data: DataLedger,
  ) {
    this.#present = new Array(plan.participants).fill(undefined);
    this.#incarnations = new Array(plan.participants).fill(0);
  }

  /** Every participant joins, one after another. */
  async fill(): Promise<void> {
    for (let i = 0; i < this.plan.participants; i++) await this.#join(i);
  }

  /** The next participant in turn leaves, and rejoins after `rejoinDelayMs`. */
  async churn(): Promise<void> {
    const index = this.#next;
    this.#next = (this.#next + 1) % this.plan.participants;
    await this.#present[index]?.leave();
    this.#present[index] = undefined;
    await sleep(this.plan.rejoinDelayMs);
    this.#incarnations[index]++;
    await this.#join(index);
    this.churns++;
  }

  async leaveAll(): Promise<void> {
    await Promise.all(this.#present.map((p) => p?.leave()));
    this.#present.fill(undefined);
  }

  /** Join failures, signaling errors and failed connections of every stay so far. */
  get problems(): string[] {
    return [...this.errors, ...this.#all.flatMap((p) => p.problems)];
  }

  /** Every stay so far (for diagnostics). */
  get participants(): readonly SoakParticipant[] {
    return this.#all;
  }

  #participantPlan(index: number): ParticipantPlan {
    const incarnation = this.#incarnations[index];
    return {
      room: this.plan.id,
      identity: `p${index}`,
      incarnation,
      video: index < this.plan.videoPublishers,
      videoPps: this.plan.videoPps,
      // Every other stay starts right before the wrap; the rest anywhere.
      firstSequenceNumber: (index + incarnation) % 2 === 0 ? NEAR_WRAP : Math.floor(Math.random() * 0x10000),
      dataIntervalMs: this.plan.dataIntervalMs,
    };
  }

  async #join(index: number): Promise<void> {
    const participant = new SoakParticipant(this.#participantPlan(index), this.media, this.data);
    this.#all.push(participant);
    try {
      await participant.join(this.signalingUrl);
      this.#present[index] = participant;
    } catch (error) {
      this.errors.push(`${participant.key}: ${(error as Error).message}`);
      await participant.leave();
    }
  }
}
