/**
 * Runs async tasks one after another. Each peer connection has one, so two publishes in a row (or an offer
 * arriving while the previous answer is still being made) never interleave their offer/answer steps.
 * A failed task does not block the ones after it.
 */
export class NegotiationQueue {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(task: () => Promise<T>): Promise<T> {
    const result = this.tail.then(task);
    this.tail = result.catch(() => undefined);
    return result;
  }
}
