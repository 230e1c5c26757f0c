import type { RtpPacket } from 'werift';

/**
 * The last N packets of one published track, by sequence number, shared by all its subscribers to answer
 * their NACKs (RFC 4585 §6.2.1). A ring: storing is an index write, no allocation.
 */
export class PacketCache {
  readonly #packets: (RtpPacket | undefined)[];
  readonly #mask: number;

  constructor(size: number) {
    if (size <= 0 || (size & (size - 1)) !== 0) throw new RangeError(`packet cache size must be a power of two, got ${size}`);
    this.#packets = new Array(size);
    this.#mask = size - 1;
  }

  store(packet: RtpPacket): void {
    this.#packets[packet.header.sequenceNumber & this.#mask] = packet;
  }

  get(sequenceNumber: number): RtpPacket | undefined {
    const packet = this.#packets[sequenceNumber & this.#mask];
    return packet && packet.header.sequenceNumber === sequenceNumber ? packet : undefined;
  }

  clear(): void {
    this.#packets.fill(undefined);
  }
}
