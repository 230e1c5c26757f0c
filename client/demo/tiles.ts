/**
 * The participant tiles: `.tile[data-identity]` with a `video`, an `audio` (remote tiles only), a `.tile-name` label,
 * a `.tile-status` row (raised hand, muted, connection quality: `[data-testid]` hand / muted / quality) and a
 * `.tile-controls` row for the teacher's buttons (classroom-controls.ts). Media elements carry `data-track-id` while
 * they show a track; a speaker's tile has `.speaking`.
 */
import type { ConnectionQuality } from '../sdk/index.js';

/** What a tile's status row shows. */
export interface TileStatus {
  handRaised: boolean;
  /** Its microphone is muted (on the server). */
  muted: boolean;
  quality: ConnectionQuality | undefined;
}

const QUALITY_TEXT: Record<ConnectionQuality | 'unknown', string> = {
  excellent: 'Connection: excellent',
  good: 'Connection: good',
  poor: 'Connection: poor',
  lost: 'Connection: lost',
  unknown: 'Connection: measuring…',
};

export class TileGrid {
  constructor(private readonly container: HTMLElement) {}

  /** Creates the tile if needed and returns it. */
  ensure(identity: string, label: string, local = false): HTMLElement {
    const existing = this.find(identity);
    if (existing !== undefined) return existing;
    const tile = document.createElement('div');
    tile.className = local ? 'tile local' : 'tile';
    tile.dataset.identity = identity;
    if (local) tile.dataset.local = 'true';
    const media = document.createElement('div');
    media.className = 'tile-media';
    const video = document.createElement('video');
    video.autoplay = true;
    video.playsInline = true;
    video.muted = true; // sound goes through the audio element; muted video may autoplay anywhere
    media.append(video);
    if (!local) {
      const audio = document.createElement('audio');
      audio.autoplay = true;
      media.append(audio);
    }
    const name = document.createElement('div');
    name.className = 'tile-name';
    name.textContent = local ? `${label} (you)` : label;
    const status = document.createElement('div');
    status.className = 'tile-status';
    status.append(badge('hand', '✋ Hand raised'), badge('muted', '🔇 Muted'), badge('quality', QUALITY_TEXT.unknown));
    media.append(name, status);
    const controls = document.createElement('div');
    controls.className = 'tile-controls';
    controls.setAttribute('role', 'group');
    controls.setAttribute('aria-label', `Moderate ${label}`);
    controls.hidden = true;
    tile.append(media, controls);
    if (local) this.container.prepend(tile);
    else this.container.append(tile);
    this.setStatus(identity, { handRaised: false, muted: false, quality: undefined });
    return tile;
  }

  /** Shows `track` in the tile's video or audio element, and returns that element. */
  attach(identity: string, trackId: string, track: MediaStreamTrack): HTMLMediaElement | undefined {
    const tile = this.find(identity);
    const element = tile?.querySelector<HTMLMediaElement>(track.kind === 'video' ? 'video' : 'audio');
    if (element === null || element === undefined) return undefined;
    element.srcObject = new MediaStream([track]);
    element.dataset.trackId = trackId;
    element.play().catch(() => undefined); // autoplay may wait for a user gesture; nothing to report
    return element;
  }

  /** Clears whichever element currently shows `trackId`. */
  detach(identity: string, trackId: string): void {
    const element = this.find(identity)?.querySelector<HTMLMediaElement>(`[data-track-id="${CSS.escape(trackId)}"]`);
    if (element === null || element === undefined) return;
    element.srcObject = null;
    delete element.dataset.trackId;
  }

  /** Updates the tile's status row: the hand and muted badges show only when true; the quality always. */
  setStatus(identity: string, status: TileStatus): void {
    const tile = this.find(identity);
    if (tile === undefined) return;
    const hand = tile.querySelector<HTMLElement>('[data-testid="hand"]')!;
    const muted = tile.querySelector<HTMLElement>('[data-testid="muted"]')!;
    const quality = tile.querySelector<HTMLElement>('[data-testid="quality"]')!;
    hand.hidden = !status.handRaised;
    muted.hidden = !status.muted;
    tile.classList.toggle('hand-raised', status.handRaised);
    tile.classList.toggle('muted', status.muted);
    const level = status.quality ?? 'unknown';
    quality.dataset.quality = level;
    quality.textContent = QUALITY_TEXT[level];
  }

  /** The tile's row for moderation buttons (hidden until something is put in it). */
  controls(identity: string): HTMLElement | undefined {
    return this.find(identity)?.querySelector<HTMLElement>('.tile-controls') ?? undefined;
  }

  /** Marks the tiles of those speaking (`.speaking`), the loudest also `.dominant`; clears the others. */
  setSpeakers(identities: readonly string[]): void {
    for (const tile of this.container.querySelectorAll<HTMLElement>('.tile')) {
      const rank = identities.indexOf(tile.dataset.identity ?? '');
      tile.classList.toggle('speaking', rank >= 0);
      tile.classList.toggle('dominant', rank === 0);
    }
  }

  remove(identity: string): void {
    this.find(identity)?.remove();
  }

  clear(): void {
    this.container.replaceChildren();
  }

  /** Every tile's identity, the local one included. */
  identities(): string[] {
    return [...this.container.querySelectorAll<HTMLElement>('.tile')].map((tile) => tile.dataset.identity ?? '');
  }

  private find(identity: string): HTMLElement | undefined {
    for (const tile of this.container.querySelectorAll<HTMLElement>('.tile')) {
      if (tile.dataset.identity === identity) return tile;
    }
    return undefined;
  }
}

function badge(testId: string, text: string): HTMLElement {
  const element = document.createElement('span');
  element.className = `badge badge-${testId}`;
  element.dataset.testid = testId;
  element.textContent = text;
  return element;
}
