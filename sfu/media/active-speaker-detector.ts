import { AMPLITUDE_OF_LEVEL, SILENCE_DBOV } from './audio-level.js';
import type { ActiveSpeaker } from '../sfu-types.js';

/** Loudness is the mean amplitude of the packets of this many latest samples (2 x the observer's 250 ms: ~500 ms). */
const SAMPLES_AVERAGED = 2;
/** A participant starts speaking when its loudness reaches this (dB relative to overload)... */
export const SPEAKING_START_DB = -45;
/** ...and stops only once it falls under this: the gap keeps a voice near the threshold from flapping. */
export const SPEAKING_STOP_DB = -52;
/**
 * A voice's loudness falls no faster than this: the pauses between words and short breaths keep a speaker, while
 * one who stopped drops out within ~0.6 s (from -30 dB to SPEAKING_STOP_DB). It rises at once. A microphone muted
 * (every packet of a sample at level 127, digital silence, which a live microphone never gives) drops at once.
 */
export const RELEASE_DB_PER_S = 40;
/** A speaker overtakes one listed before it only when louder by this much: two similar voices do not swap places. */
export const ORDER_MARGIN_DB = 3;
/** With the same speakers in the same order, a change of a level by less than this is not worth an update. */
export const LEVEL_STEP_DB = 3;

/** One participant's audio over the latest sample: how many packets carried a level, and their amplitudes' sum. */
export interface LevelSample {
  packets: number;
  amplitudeSum: number;
}

interface VoiceState {
  /** The previous samples (oldest first), averaged with the newest. */
  readonly history: LevelSample[];
  /** Smoothed loudness, dB relative to overload (-127..0). */
  db: number;
  speaking: boolean;
}

/**
 * Decides, from each participant's audio levels sampled a few times a second, who is speaking and in which order
 * (loudest first), with hysteresis so that the list does not flap. Pure: the caller samples and keeps time
 * (sfu/session/active-speaker-observer.ts). A participant with no packets over the averaged samples (paused, gone)
 * or only digital silence in the newest (muted) drops out at once; a voice that falls quiet fades out at RELEASE_DB_PER_S.
 */
export class ActiveSpeakerDetector {
  readonly #voices = new Map<string, VoiceState>();
  /** The list last returned, with each speaker's dB then. */
  #last: { identity: string; db: number }[] = [];

  /** The speakers as last returned, loudest first. */
  get speakers(): ActiveSpeaker[] {
    return this.#last.map((s) => ({ identity: s.identity, level: levelOfDb(s.db) }));
  }

  /**
   * Takes the newest sample of every participant (missing: no packets) and the time since the previous call;
   * returns the new list of speakers, loudest first, when it differs from the last one returned (other speakers, another
   * order, or a level moved by LEVEL_STEP_DB or more), else undefined.
   */
  update(samples: ReadonlyMap<string, LevelSample>, elapsedMs: number): ActiveSpeaker[] | undefined {
    for (const identity of samples.keys()) {
      if (!this.#voices.has(identity)) this.#voices.set(identity, { history: [], db: -SILENCE_DBOV, speaking: false });
    }
    const release = (RELEASE_DB_PER_S * Math.max(0, elapsedMs)) / 1000;
    for (const [identity, voice] of this.#voices) {
      const sample = samples.get(identity) ?? { packets: 0, amplitudeSum: 0 };
      let packets = sample.packets;
      let amplitude = sample.amplitudeSum;
      for (const old of voice.history) {
        packets += old.packets;
        amplitude += old.amplitudeSum;
      }
      if (packets === 0) {
        this.#voices.delete(identity);
        continue;
      }
      const muted = sample.packets > 0 && sample.amplitudeSum <= sample.packets * AMPLITUDE_OF_LEVEL[SILENCE_DBOV] * (1 + 1e-9);
      voice.history.push({ packets: sample.packets, amplitudeSum: sample.amplitudeSum });
      if (voice.history.length >= SAMPLES_AVERAGED) voice.history.shift();
      // In hundredths of a dB: a level exactly at a threshold is at it, whatever the floating point says.
      const db = amplitude > 0 ? Math.max(-SILENCE_DBOV, Math.round(2000 * Math.log10(amplitude / packets)) / 100) : -SILENCE_DBOV;
      voice.db = muted ? -SILENCE_DBOV : db >= voice.db ? db : Math.max(db, voice.db - release);
      voice.speaking = voice.speaking ? voice.db >= SPEAKING_STOP_DB : voice.db >= SPEAKING_START_DB;
    }
    const order = this.#order();
    if (!this.#changed(order)) return undefined;
    this.#last = order.map((identity) => ({ identity, db: this.#voices.get(identity)!.db }));
    return this.speakers;
  }

  /** Those still speaking in their previous order, then new speakers loudest first; then any overtaking by the margin. */
  #order(): string[] {
    const speaking = (identity: string) => this.#voices.get(identity)?.speaking === true;
    const order = this.#last.map((s) => s.identity).filter(speaking);
    const known = new Set(order);
    const fresh = [...this.#voices.keys()].filter((identity) => speaking(identity) && !known.has(identity));
    order.push(...fresh.sort((a, b) => this.#voices.get(b)!.db - this.#voices.get(a)!.db));
    // Bubble sort with a margin: "louder by the margin" is acyclic, so the passes end; lists are short.
    for (let swapped = true; swapped; ) {
      swapped = false;
      for (let i = 0; i + 1 < order.length; i++) {
        if (this.#voices.get(order[i + 1])!.db > this.#voices.get(order[i])!.db + ORDER_MARGIN_DB) {
          [order[i], order[i + 1]] = [order[i + 1], order[i]];
          swapped = true;
        }
      }
    }
    return order;
  }

  #changed(order: readonly string[]): boolean {
    const last = this.#last;
    if (order.length !== last.length) return true;
    return order.some((identity, i) => identity !== last[i].identity || Math.abs(this.#voices.get(identity)!.db - last[i].db) >= LEVEL_STEP_DB);
  }
}

/** A loudness in dB relative to overload as LiveKit reports speakers' levels: the amplitude, 0..1 (1 = full scale). */
export function levelOfDb(db: number): number {
  return Math.round(10 ** (db / 20) * 10_000) / 10_000;
}
