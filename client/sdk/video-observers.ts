import { AdaptiveVideo, type AdaptiveVideoSettings } from './adaptive-video.js';

/**
 * Debounced reports (resizes, hides) wait this long for others of the same burst: each tile's debounce timer was set
 * by its own ResizeObserver callback, a few ms apart on a busy page, and a flush between them split a window resize
 * into several messages (seen in CI). A show goes out in the next task.
 */
const BATCH_MS = 25;

/**
 * The room's `observeVideo()` observers, one per track, and their settings on the way out: what they report in
 * one turn is sent together, one `trackSettings` per distinct settings, so a window resized in a grid of 99 equal
 * tiles makes one message, not 99 (the signaling rate limit is 50 messages/s, burst 100).
 */
export class VideoObservers {
  readonly #observers = new Map<string, AdaptiveVideo>();
  /** Settings not yet sent, by track id. */
  readonly #pending = new Map<string, AdaptiveVideoSettings>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #flushAt = Infinity;

  /** `send` is called with each group; it decides whether the room can still send. */
  constructor(private readonly send: (trackIds: string[], settings: AdaptiveVideoSettings) => void) {}

  /** Observes `element` for `trackId` (replacing an earlier observer of it); the returned function stops it. */
  observe(trackId: string, element: HTMLVideoElement): () => void {
    this.stop(trackId);
    const observer = new AdaptiveVideo(trackId, element, (settings, urgent) => {
      this.#pending.set(trackId, settings);
      this.#scheduleFlush(urgent ? 0 : BATCH_MS);
    });
    this.#observers.set(trackId, observer);
    return () => {
      observer.stop();
      if (this.#observers.get(trackId) === observer) this.#observers.delete(trackId);
    };
  }

  /** Stops observing `trackId` (its track was unsubscribed); what it had not sent is dropped. */
  stop(trackId: string): void {
    this.#observers.get(trackId)?.stop();
    this.#observers.delete(trackId);
    this.#pending.delete(trackId);
  }

  stopAll(): void {
    for (const observer of this.#observers.values()) observer.stop();
    this.#observers.clear();
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#flushAt = Infinity;
    this.#pending.clear();
  }

  /** Flushes within `delayMs`: an earlier flush already due stays, a later one is brought forward. */
  #scheduleFlush(delayMs: number): void {
    const at = performance.now() + delayMs;
    if (this.#timer !== undefined && this.#flushAt <= at) return;
    clearTimeout(this.#timer);
    this.#flushAt = at;
    this.#timer = setTimeout(() => this.#flush(), delayMs);
  }

  #flush(): void {
    this.#timer = undefined;
    this.#flushAt = Infinity;
    const groups = new Map<string, { settings: AdaptiveVideoSettings; trackIds: string[] }>();
    for (const [trackId, settings] of this.#pending) {
      const key = JSON.stringify(settings);
      const group = groups.get(key) ?? { settings, trackIds: [] };
      group.trackIds.push(trackId);
      groups.set(key, group);
    }
    this.#pending.clear();
    for (const { settings, trackIds } of groups.values()) this.send(trackIds, settings);
  }
}
