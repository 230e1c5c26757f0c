/**
 * A small typed event emitter: one mechanism for every SDK class. The event map declares each event's
 * arguments as a tuple (mediasoup's EnhancedEventEmitter style):
 *
 *   interface RoomEvents { participantLeft: [participant: RemoteParticipant, reason: string] }
 *
 * A listener that throws does not stop the other listeners or the SDK: its error is rethrown in a
 * microtask, so it still surfaces as an uncaught error in the page.
 */
export type EventMap<E> = { [K in keyof E]: unknown[] };

type AnyListener = (...args: unknown[]) => void;
interface Entry {
  listener: AnyListener;
  once: boolean;
}

export class TypedEmitter<E extends EventMap<E>> {
  private readonly entries = new Map<keyof E, Entry[]>();

  on<K extends keyof E>(event: K, listener: (...args: E[K]) => void): this {
    return this.add(event, listener as unknown as AnyListener, false);
  }

  once<K extends keyof E>(event: K, listener: (...args: E[K]) => void): this {
    return this.add(event, listener as unknown as AnyListener, true);
  }

  /** Removes one listener, or every listener of `event` when none is given. */
  off<K extends keyof E>(event: K, listener?: (...args: E[K]) => void): this {
    if (listener === undefined) {
      this.entries.delete(event);
      return this;
    }
    const list = this.entries.get(event);
    if (list === undefined) return this;
    const index = list.findIndex((e) => e.listener === (listener as unknown as AnyListener));
    if (index !== -1) list.splice(index, 1);
    if (list.length === 0) this.entries.delete(event);
    return this;
  }

  removeAllListeners(): this {
    this.entries.clear();
    return this;
  }

  listenerCount(event: keyof E): number {
    return this.entries.get(event)?.length ?? 0;
  }

  protected emit<K extends keyof E>(event: K, ...args: E[K]): void {
    const list = this.entries.get(event);
    if (list === undefined) return;
    for (const entry of [...list]) {
      if (entry.once) this.off(event, entry.listener as unknown as (...args: E[K]) => void);
      try {
        entry.listener(...args);
      } catch (err) {
        queueMicrotask(() => {
          throw err;
        });
      }
    }
  }

  private add(event: keyof E, listener: AnyListener, once: boolean): this {
    const list = this.entries.get(event) ?? [];
    list.push({ listener, once });
    this.entries.set(event, list);
    return this;
  }
}
