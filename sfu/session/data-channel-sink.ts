import type { RTCDataChannel } from 'werift';
import type { SfuMetrics } from '../sfu-metrics.js';

export interface DataSinkLimits {
  dataLossyMaxBufferedBytes: number;
  dataReliableHighWaterBytes: number;
  dataStallTimeoutMs: number;
}

/** What happened to one frame handed to a receiver. */
export type DataSendResult = 'sent' | 'closed' | 'dropped';

/** Past this multiple of the high-water mark a reliable receiver is stalled at once, without waiting. */
const HARD_LIMIT_FACTOR = 4;

/**
 * One receiver's two data channels, sending with backpressure. werift's RTCDataChannel keeps every
 * message handed to `send()` in its SCTP queue until the congestion window lets it out, and reports the
 * queued bytes as `bufferedAmount` (decremented once SCTP has taken the message); nothing else bounds it.
 *
 * - lossy: a frame is dropped while the channel has more than `dataLossyMaxBufferedBytes` buffered;
 * - reliable: frames are never dropped, so a receiver whose buffer stays above `dataReliableHighWaterBytes`
 *   for `dataStallTimeoutMs` (or passes four times that mark) is reported stalled, once, and the owner
 *   disconnects it; until then memory grows by at most the senders' rate limits over the timeout.
 */
export class DataChannelSink {
  readonly #reliable: RTCDataChannel;
  readonly #lossy: RTCDataChannel;
  readonly #limits: DataSinkLimits;
  readonly #metrics: SfuMetrics;
  readonly #onStalled: (message: string) => void;
  readonly #unsubscribe: () => void;
  #stallTimer?: NodeJS.Timeout;
  #stalled = false;
  #closed = false;

  constructor(
    channels: { reliable: RTCDataChannel; lossy: RTCDataChannel },
    limits: DataSinkLimits,
    metrics: SfuMetrics,
    onStalled: (message: string) => void,
  ) {
    this.#reliable = channels.reliable;
    this.#lossy = channels.lossy;
    this.#limits = limits;
    this.#metrics = metrics;
    this.#onStalled = onStalled;
    this.#reliable.bufferedAmountLowThreshold = limits.dataReliableHighWaterBytes;
    this.#unsubscribe = this.#reliable.bufferedAmountLow.subscribe(() => this.#clearStallTimer()).unSubscribe;
  }

  /** Bytes waiting in werift's queues for this receiver, both channels. */
  get bufferedAmount(): number {
    return this.#reliable.bufferedAmount + this.#lossy.bufferedAmount;
  }

  send(frame: Uint8Array, reliable: boolean): DataSendResult {
    const channel = reliable ? this.#reliable : this.#lossy;
    // A channel still `connecting` (the receiver's SCTP association is being set up) takes the frame: werift queues
    // it until the association is up, so a receiver that just joined loses nothing sent meanwhile.
    if (this.#closed || this.#stalled || (channel.readyState !== 'open' && channel.readyState !== 'connecting')) return 'closed';
    if (!reliable && channel.bufferedAmount > this.#limits.dataLossyMaxBufferedBytes) {
      this.#metrics.dataReceiverDrops.inc({ channel: 'lossy', reason: 'buffer-full' });
      return 'dropped';
    }
    if (reliable && channel.bufferedAmount + frame.byteLength > HARD_LIMIT_FACTOR * this.#limits.dataReliableHighWaterBytes) {
      // Deferred: this runs inside a fan-out loop, which must not see the receiver disappear under it.
      this.#stall(`more than ${HARD_LIMIT_FACTOR * this.#limits.dataReliableHighWaterBytes} bytes of reliable data are waiting for this receiver`, true);
      return 'closed';
    }
    try {
      channel.send(Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength));
    } catch {
      // werift throws when the frame exceeds the receiver's SCTP max-message-size.
      this.#metrics.dataReceiverDrops.inc({ channel: reliable ? 'reliable' : 'lossy', reason: 'too-large' });
      return 'dropped';
    }
    if (reliable && channel.bufferedAmount > this.#limits.dataReliableHighWaterBytes && !this.#stallTimer) {
      this.#stallTimer = setTimeout(() => {
        this.#stallTimer = undefined;
        if (this.#reliable.bufferedAmount > this.#limits.dataReliableHighWaterBytes) {
          this.#stall(`reliable data channel stayed above ${this.#limits.dataReliableHighWaterBytes} buffered bytes for ${this.#limits.dataStallTimeoutMs} ms`, false);
        }
      }, this.#limits.dataStallTimeoutMs);
    }
    return 'sent';
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#clearStallTimer();
    this.#unsubscribe();
  }

  #stall(message: string, defer: boolean): void {
    if (this.#stalled || this.#closed) return;
    this.#stalled = true;
    this.#clearStallTimer();
    this.#metrics.dataReceiverDrops.inc({ channel: 'reliable', reason: 'receiver-stalled' });
    if (!defer) return this.#onStalled(message);
    setImmediate(() => {
      if (!this.#closed) this.#onStalled(message);
    });
  }

  #clearStallTimer(): void {
    if (this.#stallTimer) clearTimeout(this.#stallTimer);
    this.#stallTimer = undefined;
  }
}
