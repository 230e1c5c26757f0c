/** Placing a room needs the cluster's store (Redis), and it cannot be reached: the client may retry. */
export class ClusterUnavailableError extends Error {
  readonly retryable = true;
  constructor(message: string) {
    super(message);
    this.name = 'ClusterUnavailableError';
  }
}
