import type { RTCDtlsTransport } from 'werift';
import { SENDER_REPORT_BYTES } from './sender-report.js';
import { sendProtected } from './werift-transport.js';

/** A stream that contributes a Sender Report to its connection's RTCP. */
export interface SenderReportSource {
  /** Writes this stream's SR at `offset`; returns the bytes written (0 when it has nothing to report yet). */
  writeSenderReport(out: Buffer, offset: number, nowMs: number): number;
}

export const SENDER_REPORT_INTERVAL_MS = 1000;
const MAX_REPORTS_PER_PACKET = 40;

const timers = new WeakMap<RTCDtlsTransport, SenderReportTimer>();

/**
 * One timer per subscriber connection (DTLS transport) that sends every registered down track's Sender Report
 * about once a second, all in one compound SRTCP packet (RFC 3550 §6.1). Made by the first source that
 * registers on a transport, stopped when the last one leaves, so nothing outlives the down tracks.
 */
export class SenderReportTimer {
  readonly #dtls: RTCDtlsTransport;
  readonly #sources = new Set<SenderReportSource>();
  readonly #buffer = Buffer.alloc(MAX_REPORTS_PER_PACKET * SENDER_REPORT_BYTES);
  #timer: NodeJS.Timeout | undefined;

  private constructor(dtls: RTCDtlsTransport) {
    this.#dtls = dtls;
  }

  static register(dtls: RTCDtlsTransport, source: SenderReportSource): SenderReportTimer {
    let timer = timers.get(dtls);
    if (!timer) {
      timer = new SenderReportTimer(dtls);
      timers.set(dtls, timer);
    }
    timer.#add(source);
    return timer;
  }

  /** Whether the transport has a running timer (for tests that check nothing leaks). */
  static isRunning(dtls: RTCDtlsTransport): boolean {
    const timer = timers.get(dtls);
    return timer !== undefined && timer.#timer !== undefined;
  }

  unregister(source: SenderReportSource): void {
    this.#sources.delete(source);
    if (this.#sources.size > 0) return;
    clearInterval(this.#timer);
    this.#timer = undefined;
    timers.delete(this.#dtls);
  }

  /** Sends the reports now; what the interval calls. */
  flush(nowMs = performance.timeOrigin + performance.now()): void {
    const dtls = this.#dtls;
    if (dtls.state !== 'connected' || !dtls.srtcp) return;
    let length = 0;
    for (const source of this.#sources) {
      if (length + SENDER_REPORT_BYTES > this.#buffer.length) {
        this.#send(length);
        length = 0;
      }
      length += source.writeSenderReport(this.#buffer, length, nowMs);
    }
    if (length > 0) this.#send(length);
  }

  #add(source: SenderReportSource): void {
    this.#sources.add(source);
    this.#timer ??= setInterval(() => this.flush(), SENDER_REPORT_INTERVAL_MS);
    this.#timer.unref?.();
  }

  #send(length: number): void {
    try {
      sendProtected(this.#dtls, this.#dtls.srtcp.encrypt(Buffer.from(this.#buffer.subarray(0, length))));
    } catch {
      // A transport torn down between the state check and the send: the next tick (or unregister) settles it.
    }
  }
}
