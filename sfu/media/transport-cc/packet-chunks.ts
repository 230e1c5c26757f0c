import { PacketStatus, type PacketStatusSymbol } from './feedback-types.js';

/**
 * Packet chunk encoding (draft-holmer-rmcat-transport-wide-cc-extensions-01 §3.1.3, §3.1.4).
 *
 *   run length chunk       |0| S |       run length (13)       |
 *   status vector chunk    |1|S|        symbol list (14)       |   S=0: 14 one-bit symbols, S=1: 7 two-bit symbols
 *
 * The choice of chunk follows libwebrtc's `TransportFeedback::LastChunk`, the encoding Chromium itself sends:
 * keep up to 14 pending symbols; a run of one symbol grows into a run length chunk, 14 symbols without a large
 * delta become a one-bit vector, otherwise the first 7 become a two-bit vector and the rest stay pending.
 */

const MAX_TWO_BIT_CAPACITY = 7;
const MAX_ONE_BIT_CAPACITY = 14;
const MAX_RUN_LENGTH = 0x1fff;

/** Builds the chunk list symbol by symbol; reusable across feedback packets (call {@link reset}). */
export class PacketChunkWriter {
  /** Emitted chunks, 16 bits each. */
  readonly chunks: number[] = [];
  private readonly pending = new Uint8Array(MAX_ONE_BIT_CAPACITY);
  private size = 0;
  private allSame = true;
  private hasLargeDelta = false;

  reset(): void {
    this.chunks.length = 0;
    this.clearPending();
  }

  /** Chunks the packet will hold once {@link finish} is called, counting the pending symbols as one. */
  get chunkCount(): number {
    return this.chunks.length + (this.size > 0 ? 1 : 0);
  }

  /** What {@link chunkCount} will be after adding `symbol`, without adding it. */
  chunkCountAfterAdding(symbol: PacketStatusSymbol): number {
    if (this.size === 0 || this.canAdd(symbol)) return this.chunks.length + 1;
    return this.chunks.length + 2;
  }

  add(symbol: PacketStatusSymbol): void {
    if (!this.canAdd(symbol)) this.emit();
    if (this.size < MAX_ONE_BIT_CAPACITY) this.pending[this.size] = symbol;
    this.allSame = this.allSame && (this.size === 0 || symbol === this.pending[0]);
    this.hasLargeDelta = this.hasLargeDelta || symbol === PacketStatus.largeDelta;
    this.size++;
  }

  /** Encodes the pending symbols as the last chunk and returns all chunks. */
  finish(): number[] {
    if (this.size > 0) {
      if (this.allSame) this.chunks.push(runLengthChunk(this.pending[0], this.size));
      else if (this.size <= MAX_TWO_BIT_CAPACITY) this.chunks.push(twoBitChunk(this.pending, this.size));
      else this.chunks.push(oneBitChunk(this.pending, this.size));
      this.clearPending();
    }
    return this.chunks;
  }

  private canAdd(symbol: PacketStatusSymbol): boolean {
    if (this.size < MAX_TWO_BIT_CAPACITY) return true;
    if (this.size < MAX_ONE_BIT_CAPACITY && !this.hasLargeDelta && symbol !== PacketStatus.largeDelta) return true;
    return this.size < MAX_RUN_LENGTH && this.allSame && symbol === this.pending[0];
  }

  private emit(): void {
    if (this.allSame) {
      this.chunks.push(runLengthChunk(this.pending[0], this.size));
      this.clearPending();
      return;
    }
    if (this.size === MAX_ONE_BIT_CAPACITY) {
      this.chunks.push(oneBitChunk(this.pending, this.size));
      this.clearPending();
      return;
    }
    // 7 < size < 14 with a large delta among them: send the first 7 as a two-bit vector, keep the rest.
    this.chunks.push(twoBitChunk(this.pending, MAX_TWO_BIT_CAPACITY));
    const rest = this.size - MAX_TWO_BIT_CAPACITY;
    this.pending.copyWithin(0, MAX_TWO_BIT_CAPACITY, this.size);
    this.size = rest;
    this.allSame = true;
    this.hasLargeDelta = false;
    for (let i = 0; i < rest; i++) {
      this.allSame = this.allSame && this.pending[i] === this.pending[0];
      this.hasLargeDelta = this.hasLargeDelta || this.pending[i] === PacketStatus.largeDelta;
    }
  }

  private clearPending(): void {
    this.size = 0;
    this.allSame = true;
    this.hasLargeDelta = false;
  }
}

/** §3.1.3: T=0, S (2 bits), run length (13 bits). */
export function runLengthChunk(symbol: number, runLength: number): number {
  return (symbol << 13) | runLength;
}

/** §3.1.4: T=1, S=0, 14 one-bit symbols; unused trailing symbols are 0 (not received). */
export function oneBitChunk(symbols: ArrayLike<number>, count: number): number {
  let chunk = 0x8000;
  for (let i = 0; i < count; i++) chunk |= symbols[i] << (13 - i);
  return chunk;
}

/** §3.1.4: T=1, S=1, 7 two-bit symbols; unused trailing symbols are 0 (not received). */
export function twoBitChunk(symbols: ArrayLike<number>, count: number): number {
  let chunk = 0xc000;
  for (let i = 0; i < count; i++) chunk |= symbols[i] << (2 * (6 - i));
  return chunk;
}
