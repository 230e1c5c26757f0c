import { EventEmitter } from 'node:events';

/**
 * EventEmitter whose events and their argument tuples are declared by a map, as in mediasoup's
 * EnhancedEventEmitter. Events prefixed with `@` are internal parent/child notifications.
 */
export class TypedEmitter<Events extends Record<string, unknown[]>> {
  // A room has one listener per signaling session: dozens are normal, not a leak.
  readonly #emitter = new EventEmitter().setMaxListeners(0);

  on<K extends keyof Events & string>(event: K, listener: (...args: Events[K]) => void): this {
    this.#emitter.on(event, listener as (...args: unknown[]) => void);
    return this;
  }

  once<K extends keyof Events & string>(event: K, listener: (...args: Events[K]) => void): this {
    this.#emitter.once(event, listener as (...args: unknown[]) => void);
    return this;
  }

  off<K extends keyof Events & string>(event: K, listener: (...args: Events[K]) => void): this {
    this.#emitter.off(event, listener as (...args: unknown[]) => void);
    return this;
  }

  protected emit<K extends keyof Events & string>(event: K, ...args: Events[K]): void {
    this.#emitter.emit(event, ...args);
  }

  protected removeAllListeners(): void {
    this.#emitter.removeAllListeners();
  }
}
