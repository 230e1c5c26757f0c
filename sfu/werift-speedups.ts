import { RTCCertificate, SessionDescription, type RTCDtlsFingerprint } from 'werift';

/**
 * Two of werift's (0.25.2) costs that grow with the m-lines of a description, removed without changing what it
 * computes. A full room's subscriber offers and answers have 200 m-lines, and every join renegotiates every
 * subscriber, so these dominated the SFU's CPU. Applied once, when this module is first imported (by sfu.ts).
 *
 * 1. The DTLS fingerprint (RFC 8122 §5) of the certificate is recomputed, by parsing the PEM certificate (X.509
 *    in JavaScript), for every m-line written: computed once per certificate, then copied.
 * 2. `setRemoteDescription` parses the same SDP text three times (a codec preview, a BUNDLE check, the stored
 *    description): the parse of a text is reused by later parses of the same text in the same turn of the event
 *    loop (the cache is emptied at the next turn, so descriptions stored and later changed are never shared).
 * 3. `SessionDescription.parse` (every setLocalDescription and setRemoteDescription) parses every m-section of
 *    the text, although from one renegotiation to the next all but the new ones are unchanged; its attribute
 *    split (`divide`: split on every ':' and join again, 33 pieces for a fingerprint line) made it the SFU's
 *    largest cost in a full room. An m-section's parse depends only on its own lines and the session-level
 *    transport attributes (fingerprint, setup, ice-*) (werift's `SessionDescription.parse`), unless it lacks
 *    ice-ufrag/ice-pwd (then werift borrows them from another BUNDLE member: such texts are parsed as they
 *    are). So each m-section's parse is kept, keyed by those session attributes and its text (bounded, least
 *    recently used first out), and a later parse of the same section gets a deep copy (same classes, no object
 *    shared with any other description). Only the sections not seen before go through werift's parser.
 *
 * werift internals touched: `RTCCertificate.prototype.getFingerprints`, `SessionDescription.parse` (replaced;
 * it calls the original), the shape of `MediaDescription` (copied field by field, prototypes kept).
 */
const PATCHED = Symbol.for('tsfu.werift-speedups');
const patched = globalThis as { [PATCHED]?: boolean };

if (!patched[PATCHED]) {
  patched[PATCHED] = true;

  const fingerprints = new WeakMap<RTCCertificate, RTCDtlsFingerprint[]>();
  const getFingerprints = RTCCertificate.prototype.getFingerprints;
  RTCCertificate.prototype.getFingerprints = function (this: RTCCertificate): RTCDtlsFingerprint[] {
    let computed = fingerprints.get(this);
    if (!computed) {
      computed = getFingerprints.call(this);
      fingerprints.set(this, computed);
    }
    // Callers may keep or change what they get: each gets its own objects, as before.
    return computed.map((f) => Object.assign(Object.create(Object.getPrototypeOf(f) as object) as RTCDtlsFingerprint, f));
  };

  const parse = process.env.ZZ_NOMEMO ? SessionDescription.parse.bind(SessionDescription) : sectionMemoParse(SessionDescription.parse.bind(SessionDescription));
  let lastText: string | undefined;
  let lastParsed: SessionDescription | undefined;
  SessionDescription.parse = (sdp: string): SessionDescription => {
    if (sdp === lastText && lastParsed) return lastParsed;
    const parsed = parse(sdp);
    if (lastText === undefined) {
      setImmediate(() => {
        lastText = undefined;
        lastParsed = undefined;
      });
    }
    lastText = sdp;
    lastParsed = parsed;
    return parsed;
  };
}

/** Session-level lines that werift copies into every media section it parses (werift's SessionDescription.parse). */
const SESSION_CONTEXT = /^a=(fingerprint|setup|ice-lite|ice-options|ice-ufrag|ice-pwd)(:|$)/;
/** Parsed m-sections kept (a full room's subscriber: ~200 per connection, its answers' as many again). */
const MAX_SECTIONS = 20_000;
/** Texts with fewer m-sections are parsed as they are (not worth the bookkeeping). */
const MIN_SECTIONS = 8;

function sectionMemoParse(parse: (sdp: string) => SessionDescription): (sdp: string) => SessionDescription {
  const sections = new Map<string, SessionDescription['media'][number]>();
  return (sdp: string): SessionDescription => {
    const parts = sdp.split('\r\nm=');
    if (parts.length <= MIN_SECTIONS) return parse(sdp);
    const last = parts.length - 1;
    if (parts[last].endsWith('\r\n')) parts[last] = parts[last].slice(0, -2);
    const head = parts[0];
    if (head.includes('\n') && !head.includes('\r\n')) return parse(sdp);
    const context = head.split('\r\n').filter((line) => SESSION_CONTEXT.test(line)).join('\n');
    const keys: string[] = [];
    const missing: number[] = [];
    for (let i = 1; i < parts.length; i++) {
      const text = parts[i];
      // Without its own ICE credentials a section's parse depends on its BUNDLE peers: parse the text whole.
      if (!text.includes('\r\na=ice-ufrag:') || !text.includes('\r\na=ice-pwd:')) return parse(sdp);
      const key = `${context}\n${text}`;
      keys.push(key);
      if (!sections.has(key)) missing.push(i);
    }
    const session = parse(missing.length ? `${head}\r\n${missing.map((i) => `m=${parts[i]}`).join('\r\n')}\r\n` : `${head}\r\n`);
    if (session.media.length !== missing.length) return parse(sdp);
    const fresh = new Map(missing.map((i, n) => [i, session.media[n]]));
    session.media = keys.map((key, n) => {
      const parsed = fresh.get(n + 1);
      if (parsed) {
        remember(sections, key, deepCopy(parsed));
        return parsed;
      }
      const kept = sections.get(key)!;
      // Most recently used last: the first keys are the ones to drop.
      sections.delete(key);
      sections.set(key, kept);
      return deepCopy(kept);
    });
    return session;
  };
}

function remember<V>(map: Map<string, V>, key: string, value: V): void {
  map.set(key, value);
  if (map.size > MAX_SECTIONS) map.delete(map.keys().next().value!);
}

/** A copy of a parsed value: arrays and objects copied with their prototypes (werift's classes), primitives as they are. */
function deepCopy<T>(value: T): T {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.map(deepCopy) as T;
  if (Buffer.isBuffer(value)) return Buffer.from(value) as T;
  const copy = Object.create(Object.getPrototypeOf(value) as object) as Record<string, unknown>;
  for (const key of Object.keys(value)) copy[key] = deepCopy((value as Record<string, unknown>)[key]);
  return copy as T;
}

export {};
