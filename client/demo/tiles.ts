/**
 * The participant tiles: `.tile[data-identity]` with a `video`, an `audio` (remote tiles only) and a
 * `.tile-name` label. Media elements carry `data-track-id` while they show a track; a speaker's tile has `.speaking`.
 */
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
    const video = document.createElement('video');
    video.autoplay = true;
    video.playsInline = true;
    video.muted = true; // sound goes through the audio element; muted video may autoplay anywhere
    tile.append(video);
    if (!local) {
      const audio = document.createElement('audio');
      audio.autoplay = true;
      tile.append(audio);
    }
    const name = document.createElement('div');
    name.className = 'tile-name';
    name.textContent = local ? `${label} (you)` : label;
    tile.append(name);
    if (local) this.container.prepend(tile);
    else this.container.append(tile);
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

  private find(identity: string): HTMLElement | undefined {
    for (const tile of this.container.querySelectorAll<HTMLElement>('.tile')) {
      if (tile.dataset.identity === identity) return tile;
    }
    return undefined;
  }
}
