import { EventEmitter } from 'node:events';

/** Told about every exception a listener throws; the SFU points it at its logger (sfu.ts). */
export type ListenerErrorReporter = (error: unknown, event: string) => void;

const warnListenerError: ListenerErrorReporter = (error, event) =>
  process.emitWarning(`a listener of "${event}" threw: ${error instanceof Error ? error.message : String(error)}`, 'ListenerError');
let reportListenerError = warnListenerError;

/** Where listener exceptions are reported from now on (process-wide: the last SFU created wins). */
export function setListenerErrorReporter(reporter: ListenerErrorReporter): void {
  reportListenerError = reporter;
}

/** Back to a process warning, if `reporter` is still the one in force (a closed SFU lets go of it). */
export function resetListenerErrorReporter(reporter: ListenerErrorReporter): void {
  if (reportListenerError === reporter) reportListenerError = warnListenerError;
}

/**
 * EventEmitter whose events and their argument tuples are declared by a map, as in mediasoup's
 * EnhancedEventEmitter. Events prefixed with `@` are internal parent/child notifications.
 *
 * `emit` is mediasoup's `safeEmit`: a listener that throws is logged and counted, the remaining listeners
 * still run, and the exception never unwinds into the emitter (a half-updated room).
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

  listenerCount<K extends keyof Events & string>(event: K): number {
    return this.#emitter.listenerCount(event);
  }

  protected emit<K extends keyof Events & string>(event: K, ...args: Events[K]): void {
    // rawListeners: a copy (listeners added or removed meanwhile do not change this emit), with `once`
    // wrappers that remove themselves when called.
    for (const listener of this.#emitter.rawListeners(event) as ((...a: unknown[]) => void)[]) {
      try {
        listener.apply(this.#emitter, args);
      } catch (error) {
        try {
          reportListenerError(error, event);
        } catch {
          // A reporter that throws must not undo what safeEmit is for.
        }
      }
    }
  }

  protected removeAllListeners(): void {
    this.#emitter.removeAllListeners();
  }
}
