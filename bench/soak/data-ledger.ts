/**
 * Reliable data messages through the SFU: every participant sends one a second to the room, and a message counts
 * as expected at a receiver that had its data channels open a second before it was sent and stayed at least
 * `marginMs` after, from a sender that also stayed `marginMs` after sending (the SFU relays only to channels it
 * has seen open; a leave cuts what is in flight, both ways).
 */
interface SentMessage {
  room: string;
  sender: string;
  text: string;
  at: number;
}

export interface DataReceiver {
  room: string;
  key: string;
  openAt?: number;
  leftAt?: number;
  texts: () => Iterable<string>;
}

export interface DataReport {
  sent: number;
  expected: number;
  delivered: number;
  /** A few of the expected messages that did not arrive: `receiver ← text (sent at ms)`. */
  missing: string[];
  /** Expected messages that did not arrive, by receiver. */
  missingByReceiver: Record<string, number>;
}

export class DataLedger {
  readonly #sent: SentMessage[] = [];
  readonly #receivers: DataReceiver[] = [];

  constructor(readonly marginMs = 2000) {}

  /** `texts` lists what this receiver got (read when the report is made). */
  addReceiver(room: string, key: string, texts: () => Iterable<string>): DataReceiver {
    const receiver: DataReceiver = { room, key, texts };
    this.#receivers.push(receiver);
    return receiver;
  }

  sent(room: string, sender: string, text: string, at: number): void {
    this.#sent.push({ room, sender, text, at });
  }

  report(now: number): DataReport {
    const report: DataReport = { sent: this.#sent.length, expected: 0, delivered: 0, missing: [], missingByReceiver: {} };
    const senderLeftAt = new Map(this.#receivers.map((r) => [r.key, r.leftAt ?? now]));
    for (const receiver of this.#receivers) {
      if (receiver.openAt === undefined) continue;
      const got = new Set(receiver.texts());
      const until = (receiver.leftAt ?? now) - this.marginMs;
      for (const message of this.#sent) {
        if (message.room !== receiver.room || message.sender === receiver.key) continue;
        if (message.at < receiver.openAt + 1000 || message.at > until) continue;
        if (message.at > (senderLeftAt.get(message.sender) ?? now) - this.marginMs) continue;
        report.expected++;
        if (got.has(message.text)) report.delivered++;
        else {
          report.missingByReceiver[receiver.key] = (report.missingByReceiver[receiver.key] ?? 0) + 1;
          if (report.missing.length < 10) report.missing.push(`${receiver.key} ← ${message.text} (sent at ${Math.round(message.at)} ms, receiver open at ${Math.round(receiver.openAt)})`);
        }
      }
    }
    return report;
  }
}
