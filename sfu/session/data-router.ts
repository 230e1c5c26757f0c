import { decodeDataEnvelope, encodeDataEnvelope, parseUpstreamHeader } from './data-envelope.js';
import type { Participant } from './participant.js';

/**
 * Delivers one data message from `sender` to the other participants it names (all of them when it names
 * none), tagged with the sender's identity; refuses it with a reason the sender is told (returns -1).
 * Each receiver's channel applies its own backpressure (data-channel-sink.ts); one that refuses a frame
 * does not stop delivery to the others.
 */
export function routeDataMessage(participants: ReadonlyMap<string, Participant>, sender: Participant, data: Buffer, reliable: boolean, now = performance.now()): number {
  if (!sender.grants.canPublishData) {
    sender.rejectData({ code: 'PERMISSION_DENIED', message: 'this token does not grant canPublishData' });
    return -1;
  }
  const allowance = sender.dataAllowance;
  if (!allowance.take(data.length, now)) {
    if (allowance.shouldNotify(now)) {
      const { dataMessagesPerSecond, dataBytesPerSecond } = allowance.limits;
      sender.rejectData({
        code: 'RATE_LIMITED',
        message: `more than ${dataMessagesPerSecond} data messages or ${dataBytesPerSecond} bytes per second; messages are being dropped`,
      });
    }
    return -1;
  }
  const envelope = decodeDataEnvelope(data);
  if (typeof envelope === 'string') {
    sender.rejectData({ code: 'SCHEMA_VIOLATION', message: envelope });
    return -1;
  }
  const limit = sender.maxDataMessageBytes;
  if (envelope.payload.length > limit) {
    sender.rejectData({ code: 'DATA_TOO_LARGE', message: `data payload is ${envelope.payload.length} bytes; the limit is ${limit}` });
    return -1;
  }
  const header = parseUpstreamHeader(envelope.header);
  if (typeof header === 'string') {
    sender.rejectData({ code: 'SCHEMA_VIOLATION', message: header });
    return -1;
  }
  const frame = encodeDataEnvelope({ from: sender.identity, ...(header.topic ? { topic: header.topic } : {}) }, envelope.payload, envelope.text);
  return fanOut(participants, frame, reliable, header.to, sender);
}

/** Hands `frame` to the participants named in `to` (everyone when absent) but `except`; returns how many took it. */
function fanOut(participants: ReadonlyMap<string, Participant>, frame: Uint8Array, reliable: boolean, to: readonly string[] | undefined, except?: Participant): number {
  let delivered = 0;
  if (to) {
    for (const identity of new Set(to)) {
      const target = participants.get(identity);
      if (target && target !== except && target.sendData(frame, reliable)) delivered++;
    }
  } else {
    for (const target of participants.values()) {
      if (target !== except && target.sendData(frame, reliable)) delivered++;
    }
  }
  return delivered;
}

/** A data message the server itself sends (the room service API): `from` is "" in its header, which no identity can be. */
export interface ServerDataMessage {
  payload: Uint8Array;
  /** The payload is UTF-8 text (the receiver's SDK decodes it). */
  text: boolean;
  topic?: string;
  /** Only these identities; everyone in the room when absent. */
  to?: readonly string[];
  reliable: boolean;
}

/** The `from` of a server-sent message: the server, never a participant (identities are 1+ characters). */
export const SERVER_DATA_SENDER = '';

/** Delivers a server-sent data message; returns how many participants' channels took it. */
export function routeServerData(participants: ReadonlyMap<string, Participant>, message: ServerDataMessage): number {
  const frame = encodeDataEnvelope({ from: SERVER_DATA_SENDER, ...(message.topic ? { topic: message.topic } : {}) }, message.payload, message.text);
  return fanOut(participants, frame, message.reliable, message.to);
}
