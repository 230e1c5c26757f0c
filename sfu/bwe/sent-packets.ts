/** Packets remembered (a power of two): ~20 s of a 2 Mbit/s downlink, far longer than feedback takes to come. */
const CAPACITY = 4096;
const MASK = CAPACITY - 1;

/**
 * What one subscriber connection sent, by transport-wide sequence number (draft-holmer-rmcat-transport-wide-cc-
 * extensions-01 §2): when, how many bytes, and in which probe cluster, so that its feedback can be matched. The
 * sequence numbers are allocated here: one counter for every packet on the connection (media, RTX, padding).
 */
export class SentPackets {
  #next = 0;
  /** Every byte sent, to measure the media rate a probe adds padding to; and audio's share, which allocation leaves out. */
  #totalBytes = 0;
  #audioBytes = 0;
  readonly #sequence = new Int32Array(CAPACITY).fill(-1);
  readonly #sentAtMs = new Float64Array(CAPACITY);
  readonly #bytes = new Uint16Array(CAPACITY);
  readonly #clusterOf = new Int16Array(CAPACITY);
  /** The probe cluster packets sent now belong to (-1 outside a probe), and how many it has so far. */
  #cluster = -1;
  #clusterPackets = 0;

  /** Records a packet sent now; returns its transport-wide sequence number, for its header. Its size follows (setBytes). */
  record(nowMs: number): number {
    const sequence = this.#next;
    this.#next = (sequence + 1) & 0xffff;
    const slot = sequence & MASK;
    this.#sequence[slot] = sequence;
    this.#sentAtMs[slot] = nowMs;
    this.#bytes[slot] = 0;
    this.#clusterOf[slot] = this.#cluster;
    if (this.#cluster >= 0) this.#clusterPackets++;
    return sequence;
  }

  /** The size on the wire (SRTP included) of the packet just recorded as `sequence`. */
  setBytes(sequence: number, bytes: number, audio: boolean): void {
    this.#bytes[sequence & MASK] = bytes;
    this.#totalBytes += bytes;
    if (audio) this.#audioBytes += bytes;
  }

  get audioBytes(): number {
    return this.#audioBytes;
  }

  /** Whether `sequence` (16 bits) is still remembered. */
  has(sequence: number): boolean {
    return this.#sequence[sequence & MASK] === sequence;
  }

  sentAtMs(sequence: number): number {
    return this.#sentAtMs[sequence & MASK];
  }

  bytes(sequence: number): number {
    return this.#bytes[sequence & MASK];
  }

  cluster(sequence: number): number {
    return this.#clusterOf[sequence & MASK];
  }

  /** Packets sent from now on, media and padding alike, belong to probe cluster `id` (0–32767). */
  startCluster(id: number): void {
    this.#cluster = id;
    this.#clusterPackets = 0;
  }

  /** Ends the probe cluster; returns how many packets it had. */
  endCluster(): number {
    this.#cluster = -1;
    return this.#clusterPackets;
  }

  get totalBytes(): number {
    return this.#totalBytes;
  }
}
