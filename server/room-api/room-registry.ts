import type { RoomSettings, RoomSettingsPort } from '../../signaling/index.js';

/** What the node knows of one of its rooms beyond the SFU's participants. */
export interface RoomRecord {
  name: string;
  createdAt: number;
  maxParticipants: number;
  /** 0: closes with its last participant (a room created by a join). */
  emptyTimeoutSeconds: number;
  metadata: string;
  /** `api`: POST /api/v1/rooms made it, and it outlives emptiness by emptyTimeoutSeconds; `join`: its first join did. */
  createdBy: 'api' | 'join';
}

/** Told when a room is created over the API, and when such a room is gone (expired, deleted, lease lost, node closed). */
export interface CreatedRoomListener {
  created(room: string): void;
  gone(room: string): void;
}

interface Entry {
  record: RoomRecord;
  /** Runs while an API-created room has nobody in it. */
  emptyTimer?: NodeJS.Timeout;
}

/**
 * The rooms this node serves, with what the room service API set for them (signaling reads max participants and
 * metadata at each join). A record lives while its SFU room does; an API-created one also while empty, until its
 * empty timeout, when `onExpired` is told (the server releases its lease). Nothing stays once a room is gone.
 */
export class RoomRegistry implements RoomSettingsPort {
  readonly #rooms = new Map<string, Entry>();
  readonly #onExpired: (room: string) => void;
  #listener?: CreatedRoomListener;
  #closed = false;

  constructor(onExpired: (room: string) => void) {
    this.#onExpired = onExpired;
  }

  /** One listener (the webhooks): API-created rooms' lives, which do not follow their participants'. */
  observe(listener: CreatedRoomListener): void {
    this.#listener = listener;
  }

  get size(): number {
    return this.#rooms.size;
  }

  /** Rooms with an empty timer running (for the tests that prove nothing leaks). */
  get emptyTimers(): number {
    let n = 0;
    for (const entry of this.#rooms.values()) if (entry.emptyTimer) n++;
    return n;
  }

  settings(room: string): RoomSettings | undefined {
    const record = this.#rooms.get(room)?.record;
    return record && { maxParticipants: record.maxParticipants, metadata: record.metadata };
  }

  get(room: string): RoomRecord | undefined {
    return this.#rooms.get(room)?.record;
  }

  list(): RoomRecord[] {
    return [...this.#rooms.values()].map((entry) => entry.record);
  }

  /** Records an API-created room, empty for now; an existing room is returned as it is (`created` false). */
  create(init: Omit<RoomRecord, 'createdAt' | 'createdBy'>, occupied: boolean): { record: RoomRecord; created: boolean } {
    const existing = this.#rooms.get(init.name);
    if (existing) return { record: existing.record, created: false };
    const entry: Entry = { record: { ...init, createdAt: Date.now(), createdBy: 'api' } };
    this.#rooms.set(init.name, entry);
    if (!occupied) this.#armEmptyTimer(entry);
    this.#listener?.created(init.name);
    return { record: entry.record, created: true };
  }

  /** Its SFU room opened (a join): an empty timer stops; a room nobody created gets its record. */
  opened(room: string): void {
    if (this.#closed) return;
    const entry = this.#rooms.get(room);
    if (entry) {
      clearTimeout(entry.emptyTimer);
      entry.emptyTimer = undefined;
      return;
    }
    this.#rooms.set(room, { record: { name: room, createdAt: Date.now(), maxParticipants: 0, emptyTimeoutSeconds: 0, metadata: '', createdBy: 'join' } });
  }

  /** Its SFU room closed (the last participant left) and did not reopen at once: empty from now on. */
  emptied(room: string): void {
    const entry = this.#rooms.get(room);
    if (!entry) return;
    if (entry.record.createdBy === 'join') this.#rooms.delete(room);
    else this.#armEmptyTimer(entry);
  }

  /** Whether the node keeps serving `room` with nobody in it (its lease is kept). */
  keepsEmpty(room: string): boolean {
    return this.#rooms.get(room)?.record.createdBy === 'api';
  }

  setMetadata(room: string, metadata: string): RoomRecord | undefined {
    const entry = this.#rooms.get(room);
    if (entry) entry.record.metadata = metadata;
    return entry?.record;
  }

  /** Forgets the room (deleted, or its lease moved elsewhere). */
  remove(room: string): void {
    const entry = this.#rooms.get(room);
    if (!entry) return;
    clearTimeout(entry.emptyTimer);
    this.#rooms.delete(room);
    this.#gone(entry);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const entries = [...this.#rooms.values()];
    this.#rooms.clear();
    for (const entry of entries) {
      clearTimeout(entry.emptyTimer);
      this.#gone(entry);
    }
  }

  #gone(entry: Entry): void {
    if (entry.record.createdBy === 'api') this.#listener?.gone(entry.record.name);
  }

  #armEmptyTimer(entry: Entry): void {
    clearTimeout(entry.emptyTimer);
    const room = entry.record.name;
    entry.emptyTimer = setTimeout(() => {
      if (this.#rooms.get(room) !== entry) return;
      this.#rooms.delete(room);
      this.#onExpired(room);
      this.#gone(entry);
    }, entry.record.emptyTimeoutSeconds * 1000);
    entry.emptyTimer.unref();
  }
}
