import type { ClusterEvents } from './cluster-types.js';

/** The cluster's event listeners; one that throws is reported and never stops the others. */
export class ClusterListeners {
  readonly #listeners: { [E in keyof ClusterEvents]: ClusterEvents[E][] } = { leaseLost: [], storeState: [] };

  constructor(private readonly onError: (error: unknown, event: string) => void) {}

  add<E extends keyof ClusterEvents>(event: E, listener: ClusterEvents[E]): void {
    this.#listeners[event].push(listener);
  }

  emit<E extends keyof ClusterEvents>(event: E, ...args: Parameters<ClusterEvents[E]>): void {
    for (const listener of this.#listeners[event]) {
      try {
        (listener as (...a: Parameters<ClusterEvents[E]>) => void)(...args);
      } catch (error) {
        this.onError(error, event);
      }
    }
  }

  clear(): void {
    this.#listeners.leaseLost.length = 0;
    this.#listeners.storeState.length = 0;
  }
}
