import { ActiveSpeakerDetector, type LevelSample } from '../media/active-speaker-detector.js';
import type { PublishedTrack } from '../media/published-track.js';
import type { ActiveSpeaker } from '../sfu-types.js';

/** How often a room's audio levels are sampled: the list changes at most this often (4 times a second). */
export const ACTIVE_SPEAKER_TICK_MS = 250;

/**
 * A room's active speakers (mediasoup's AudioLevelObserver, LiveKit's ActiveSpeakersChanged): every
 * ACTIVE_SPEAKER_TICK_MS it reads and resets the audio level meters of the room's published audio tracks
 * (PublishedTrack.audioLevel, filled on the forwarding path) and hands them to the detector; a changed list goes to
 * `onChange`. One timer per room, running from the first metered track until the last is gone and everyone has dropped
 * out of the list (or close()).
 */
export class ActiveSpeakerObserver {
  readonly #tracks = new Set<PublishedTrack>();
  readonly #detector = new ActiveSpeakerDetector();
  readonly #onChange: (speakers: ActiveSpeaker[]) => void;
  readonly #tickMs: number;
  #speakers: ActiveSpeaker[] = [];
  #timer: NodeJS.Timeout | undefined;
  #lastTickAt = 0;
  #closed = false;

  constructor(onChange: (speakers: ActiveSpeaker[]) => void, tickMs = ACTIVE_SPEAKER_TICK_MS) {
    this.#onChange = onChange;
    this.#tickMs = tickMs;
  }

  /** Loudest first; empty when nobody speaks. */
  get speakers(): readonly ActiveSpeaker[] {
    return this.#speakers;
  }

  /** The loudest speaker's identity (its camera goes first in subscribers' allocation), if anyone speaks. */
  get dominant(): string | undefined {
    return this.#speakers[0]?.identity;
  }

  /** Whether its timer runs (for the tests that prove nothing is left behind). */
  get running(): boolean {
    return this.#timer !== undefined;
  }

  /** A published track: observed if it carries audio levels. */
  add(track: PublishedTrack): void {
    if (this.#closed || !track.audioLevel || this.#tracks.has(track)) return;
    track.audioLevel.reset();
    this.#tracks.add(track);
    if (this.#timer) return;
    this.#lastTickAt = performance.now();
    this.#timer = setInterval(() => this.#tick(), this.#tickMs);
    this.#timer.unref();
  }

  /** An unpublished track: its publisher drops out at the next tick, when it was its only voice. */
  remove(track: PublishedTrack): void {
    this.#tracks.delete(track);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#stop();
    this.#tracks.clear();
    this.#speakers = [];
  }

  #tick(): void {
    const now = performance.now();
    const elapsed = now - this.#lastTickAt;
    this.#lastTickAt = now;
    // Each participant's loudest track this tick (a microphone, and perhaps an unlabelled second one).
    const samples = new Map<string, LevelSample>();
    for (const track of this.#tracks) {
      const meter = track.audioLevel!;
      if (meter.packets === 0) continue;
      const current = samples.get(track.publisherIdentity);
      if (!current || meter.amplitudeSum / meter.packets > current.amplitudeSum / current.packets) {
        samples.set(track.publisherIdentity, { packets: meter.packets, amplitudeSum: meter.amplitudeSum });
      }
      meter.reset();
    }
    const changed = this.#detector.update(samples, elapsed);
    if (changed) {
      this.#speakers = changed;
      this.#onChange(changed);
    }
    if (this.#tracks.size === 0 && this.#speakers.length === 0) this.#stop();
  }

  #stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
