/**
 * What one bot's subscriber connection received: RTP payload bytes, and loss from sequence-number gaps per SSRC.
 * Packets arrive after werift's RTX unwrapping, so a loss the SFU repaired by retransmission is not counted; a
 * duplicate counts as received (loss is then slightly under-reported, never over-reported).
 */
export class ReceiveCounter {
  bytes = 0;
  packets = 0;
  /** performance.now() of the first and latest packet. */
  firstPacketAt?: number;
  lastPacketAt?: number;
  readonly #streams = new Map<number, StreamSequence>();

  onPacket(ssrc: number, sequenceNumber: number, payloadBytes: number, at: number): void {
    this.bytes += payloadBytes;
    this.packets++;
    this.firstPacketAt ??= at;
    this.lastPacketAt = at;
    let stream = this.#streams.get(ssrc);
    if (!stream) this.#streams.set(ssrc, (stream = new StreamSequence(sequenceNumber)));
    else stream.onSequence(sequenceNumber);
  }

  /** Packets the sequence numbers say were sent, and how many of those never arrived. */
  get expected(): number {
    let n = 0;
    for (const s of this.#streams.values()) n += s.expected;
    return n;
  }

  get lost(): number {
    let n = 0;
    for (const s of this.#streams.values()) n += s.lost;
    return n;
  }
}

/** One SSRC's 16-bit sequence numbers unwrapped into an extended highest number (RFC 3550 §A.1, simplified). */
class StreamSequence {
  readonly #base: number;
  #highest: number;
  #received = 1;

  constructor(first: number) {
    this.#base = first;
    this.#highest = first;
  }

  onSequence(sequenceNumber: number): void {
    this.#received++;
    const forward = (sequenceNumber - this.#highest) & 0xffff;
    // Less than half the space ahead is new (a wrap included); otherwise it is late or a duplicate.
    if (forward < 0x8000) this.#highest += forward;
  }

  get expected(): number {
    return this.#highest - this.#base + 1;
  }

  get lost(): number {
    return Math.max(0, this.expected - this.#received);
  }
}
