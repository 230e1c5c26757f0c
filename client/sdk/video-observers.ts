import { AdaptiveVideo, type AdaptiveVideoSettings } from './adaptive-video.js';

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

  /** `send` is called with each group; it decides whether the room can still send. */
  constructor(private readonly send: (trackIds: string[], settings: AdaptiveVideoSettings) => void) {}

  /** Observes `element` for `trackId` (replacing an earlier observer of it); the returned function stops it. */
  observe(trackId: string, element: HTMLVideoElement): () => void {
    this.stop(trackId);
    const observer = new AdaptiveVideo(trackId, element, (settings) => {
      this.#pending.set(trackId, settings);
      this.#timer ??= setTimeout(() => this.#flush(), 0);
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
    this.#pending.clear();
  }

  #flush(): void {
    this.#timer = undefined;
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
