/**
 * Framing of data-channel messages between clients and the SFU (docs/PROTOCOL.md, "Data messages").
 * Pure and platform-neutral (Uint8Array, TextEncoder): the browser SDK bundles this same file.
 *
 *   byte 0      version (1)
 *   byte 1      flags: bit 0 = payload is UTF-8 text
 *   bytes 2..3  header length H, big-endian
 *   H bytes     UTF-8 JSON header: upstream {to?: string[], topic?: string}; downstream {from: string, topic?: string}
 *   rest        payload
 */
export const DATA_ENVELOPE_VERSION = 1;
const FLAG_TEXT = 1;
const PREFIX_BYTES = 4;
const MAX_HEADER_BYTES = 4096;

export interface UpstreamHeader {
  to?: string[];
  topic?: string;
}
export interface DownstreamHeader {
  from: string;
  topic?: string;
}
export interface DataEnvelope<H> {
  header: H;
  payload: Uint8Array;
  text: boolean;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

export function encodeDataEnvelope(header: UpstreamHeader | DownstreamHeader, payload: Uint8Array, text: boolean): Uint8Array {
  const headerBytes = encoder.encode(JSON.stringify(header));
  if (headerBytes.length > MAX_HEADER_BYTES) throw new RangeError(`data header is ${headerBytes.length} bytes; the limit is ${MAX_HEADER_BYTES}`);
  const out = new Uint8Array(PREFIX_BYTES + headerBytes.length + payload.length);
  out[0] = DATA_ENVELOPE_VERSION;
  out[1] = text ? FLAG_TEXT : 0;
  out[2] = headerBytes.length >> 8;
  out[3] = headerBytes.length & 0xff;
  out.set(headerBytes, PREFIX_BYTES);
  out.set(payload, PREFIX_BYTES + headerBytes.length);
  return out;
}

/** Returns the envelope or a string saying what is wrong with it. Never throws. */
export function decodeDataEnvelope(bytes: Uint8Array): DataEnvelope<Record<string, unknown>> | string {
  if (bytes.length < PREFIX_BYTES) return 'data message shorter than its 4-byte prefix';
  if (bytes[0] !== DATA_ENVELOPE_VERSION) return `unsupported data envelope version ${bytes[0]}`;
  const headerLength = (bytes[2] << 8) | bytes[3];
  if (headerLength > MAX_HEADER_BYTES) return `data header length ${headerLength} exceeds ${MAX_HEADER_BYTES}`;
  if (PREFIX_BYTES + headerLength > bytes.length) return 'data header runs past the end of the message';
  let header: unknown;
  try {
    header = JSON.parse(decoder.decode(bytes.subarray(PREFIX_BYTES, PREFIX_BYTES + headerLength)));
  } catch {
    return 'data header is not UTF-8 JSON';
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) return 'data header is not a JSON object';
  return {
    header: header as Record<string, unknown>,
    payload: bytes.subarray(PREFIX_BYTES + headerLength),
    text: (bytes[1] & FLAG_TEXT) !== 0,
  };
}

/** Validates an upstream header's fields; returns the typed header or a reason. */
export function parseUpstreamHeader(header: Record<string, unknown>): UpstreamHeader | string {
  const { to, topic, ...rest } = header;
  const unknownKeys = Object.keys(rest);
  if (unknownKeys.length > 0) return `unknown data header field "${unknownKeys[0]}"`;
  if (topic !== undefined && (typeof topic !== 'string' || topic.length > 128)) return 'topic must be a string of at most 128 characters';
  if (to !== undefined) {
    if (!Array.isArray(to) || to.length > 256 || !to.every((v) => typeof v === 'string' && v.length > 0 && v.length <= 128)) {
      return 'to must be an array of at most 256 identities';
    }
  }
  return { to: to as string[] | undefined, topic: topic as string | undefined };
}

export function decodeText(payload: Uint8Array): string {
  return new TextDecoder().decode(payload);
}
export function encodeText(text: string): Uint8Array {
  return encoder.encode(text);
}
