/** What `AdaptiveVideo` reports for a track: not shown, or shown at this size in device pixels. */
export type AdaptiveVideoSettings = { enabled: false } | { enabled: true; width: number; height: number };

/** How long a size change or a hide waits for more changes (a window being resized sends once, at the end). */
export const ADAPTIVE_VIDEO_DEBOUNCE_MS = 100;
/** The largest width/height `trackSettings` accepts (docs/PROTOCOL.md). */
const MAX_DIMENSION = 16384;

/**
 * Reports how one received video track is shown, from the element showing it (adaptive stream, as LiveKit's
 * `adaptiveStream`): `{ enabled: false }` while the element is not visible (no size, e.g. `display: none`; outside
 * the viewport; or the tab hidden), else `{ enabled: true, width, height }`, its CSS size × `devicePixelRatio`.
 * A size change or a hide is sent once the element has not changed for `debounceMs`; showing a hidden element
 * is sent at once. The same settings are never sent twice in a row. Nothing is sent before the first
 * IntersectionObserver report (right after the first layout). Not detected: `visibility: hidden`, `opacity: 0`,
 * covering elements; a `devicePixelRatio` change alone (the window moved to another screen) counts from the next
 * change the observers report.
 */
export class AdaptiveVideo {
  /** The element's content box, CSS pixels (0 × 0 when it has no box, e.g. `display: none`). */
  #cssWidth = 0;
  #cssHeight = 0;
  /** Whether it intersects the viewport; undefined until the IntersectionObserver's first report. */
  #inViewport: boolean | undefined;
  #sent: AdaptiveVideoSettings | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #stopped = false;
  readonly #resizeObserver: ResizeObserver;
  readonly #intersectionObserver: IntersectionObserver;
  readonly #onVisibilityChange = (): void => this.#update();

  constructor(
    readonly trackId: string,
    readonly element: HTMLVideoElement,
    /** `urgent`: a show (someone waits for the picture); otherwise a debounced resize or hide. */
    private readonly send: (settings: AdaptiveVideoSettings, urgent: boolean) => void,
    readonly debounceMs = ADAPTIVE_VIDEO_DEBOUNCE_MS,
  ) {
    // Both observers report the element's current state once it is laid out (a ResizeObserver only when its
    // size is not 0 × 0, which is what #cssWidth/#cssHeight start at).
    this.#resizeObserver = new ResizeObserver((entries) => {
      const last = entries[entries.length - 1];
      if (last === undefined) return;
      this.#cssWidth = last.contentRect.width;
      this.#cssHeight = last.contentRect.height;
      this.#update();
    });
    this.#intersectionObserver = new IntersectionObserver((entries) => {
      const last = entries[entries.length - 1];
      if (last === undefined) return;
      this.#inViewport = last.isIntersecting;
      this.#update();
    });
    this.#resizeObserver.observe(element);
    this.#intersectionObserver.observe(element);
    document.addEventListener('visibilitychange', this.#onVisibilityChange);
  }

  /** Disconnects the observers and drops a pending change. The last settings sent stay in effect. Idempotent. */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#cancelPending();
    this.#resizeObserver.disconnect();
    this.#intersectionObserver.disconnect();
    document.removeEventListener('visibilitychange', this.#onVisibilityChange);
  }

  /** What should be in effect now. */
  #wanted(): AdaptiveVideoSettings {
    const ratio = window.devicePixelRatio || 1;
    const width = Math.min(MAX_DIMENSION, Math.round(this.#cssWidth * ratio));
    const height = Math.min(MAX_DIMENSION, Math.round(this.#cssHeight * ratio));
    if (document.visibilityState === 'hidden' || this.#inViewport !== true || width === 0 || height === 0) return { enabled: false };
    return { enabled: true, width, height };
  }

  #update(): void {
    if (this.#stopped || this.#inViewport === undefined) return;
    const wanted = this.#wanted();
    this.#cancelPending();
    if (sameSettings(wanted, this.#sent)) return;
    // Showing a hidden element (or a first report that shows it) goes out at once: someone waits for the picture.
    if (wanted.enabled && this.#sent?.enabled !== true) {
      this.#deliver(wanted, true);
      return;
    }
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      const settled = this.#wanted();
      if (!sameSettings(settled, this.#sent)) this.#deliver(settled, false);
    }, this.debounceMs);
  }

  #deliver(settings: AdaptiveVideoSettings, urgent: boolean): void {
    this.#sent = settings;
    this.send(settings, urgent);
  }

  #cancelPending(): void {
    if (this.#timer === undefined) return;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}

function sameSettings(a: AdaptiveVideoSettings, b: AdaptiveVideoSettings | undefined): boolean {
  if (b === undefined || a.enabled !== b.enabled) return false;
  return !a.enabled || !b.enabled || (a.width === b.width && a.height === b.height);
}
