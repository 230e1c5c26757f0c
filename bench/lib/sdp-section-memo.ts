import type { SessionDescription } from 'werift';
import { useSdpParser, weriftParse } from '../../sfu/peer/werift-speedups.js';

/**
 * A benchmark-only SDP parser for processes running many werift clients (the full-room bots): under the SFU's
 * same-text reuse (sfu/peer/werift-speedups.ts), it reuses the parse of each unchanged m-section. werift internal
 * relied on: the shape of `MediaDescription` (copied field by field, prototypes kept).
 */
let installed = false;

/**
 * Parses each m-section of a description once per connection: `SessionDescription.parse` (every
 * setLocalDescription and setRemoteDescription) parses every m-section, although from one renegotiation to the
 * next all but the new ones are unchanged, and its attribute split (`divide`: split on every ':' and join again,
 * 33 pieces for a fingerprint line) is slow. An m-section's parse depends only on its own lines and the
 * session-level transport attributes (werift's `SessionDescription.parse`), unless it lacks ice-ufrag/ice-pwd
 * (then werift borrows them from another BUNDLE member: such texts are parsed whole). Sections are kept per
 * sender of the text (its first ice-ufrag/ice-pwd), only those of its latest text, for `maxSenders` senders
 * (least recently used out); a later parse of a kept section gets a deep copy (same classes, nothing shared).
 *
 * Memory: a parsed copy of one description per sender (~1 MB at 200 m-lines). A client process with a few
 * dozen connections gains ~20% of its SDP work; the SFU, cycling through hundreds of connections, gains nothing
 * measurable and holds ~160 MB more, so only the benchmark's bots use it.
 */
export function memoizeSdpSections(maxSenders = 128): void {
  if (installed) return;
  installed = true;
  const parse = weriftParse;
  const senders = new Map<string, Map<string, SessionDescription['media'][number]>>();
  useSdpParser((sdp: string): SessionDescription => {
    const parts = sdp.split('\r\nm=');
    if (parts.length <= MIN_SECTIONS) return parse(sdp);
    const last = parts.length - 1;
    if (parts[last].endsWith('\r\n')) parts[last] = parts[last].slice(0, -2);
    const head = parts[0];
    if (head.includes('\n') && !head.includes('\r\n')) return parse(sdp);
    const credentials = /\r\na=ice-ufrag:([^\r]*)\r\na=ice-pwd:([^\r]*)/.exec(parts[1]);
    if (!credentials) return parse(sdp);
    const context = head.split('\r\n').filter((line) => SESSION_CONTEXT.test(line)).join('\n');
    const senderKey = `${context}\n${credentials[1]}\n${credentials[2]}`;
    const kept = senders.get(senderKey) ?? new Map<string, SessionDescription['media'][number]>();
    senders.delete(senderKey); // most recently used last
    const missing: number[] = [];
    for (let i = 1; i < parts.length; i++) {
      // Without its own ICE credentials a section's parse depends on its BUNDLE peers: parse the text whole.
      if (!parts[i].includes('\r\na=ice-ufrag:') || !parts[i].includes('\r\na=ice-pwd:')) return parse(sdp);
      if (!kept.has(parts[i])) missing.push(i);
    }
    const session = parse(missing.length ? `${head}\r\n${missing.map((i) => `m=${parts[i]}`).join('\r\n')}\r\n` : `${head}\r\n`);
    if (session.media.length !== missing.length) return parse(sdp);
    const fresh = new Map(missing.map((i, n) => [i, session.media[n]]));
    const next = new Map<string, SessionDescription['media'][number]>();
    session.media = parts.slice(1).map((text, n) => {
      const parsed = fresh.get(n + 1);
      if (parsed) {
        next.set(text, deepCopy(parsed));
        return parsed;
      }
      const media = kept.get(text)!;
      next.set(text, media);
      return deepCopy(media);
    });
    senders.set(senderKey, next);
    if (senders.size > maxSenders) senders.delete(senders.keys().next().value!);
    return session;
  });
}

/** Session-level lines that werift copies into every media section it parses (werift's SessionDescription.parse). */
const SESSION_CONTEXT = /^a=(fingerprint|setup|ice-lite|ice-options|ice-ufrag|ice-pwd)(:|$)/;
/** Texts with fewer m-sections are parsed as they are (not worth the bookkeeping). */
const MIN_SECTIONS = 8;

/** A copy of a parsed value: arrays and objects copied with their prototypes (werift's classes), primitives as they are. */
function deepCopy<T>(value: T): T {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.map(deepCopy) as T;
  if (Buffer.isBuffer(value)) return Buffer.from(value) as T;
  const copy = Object.create(Object.getPrototypeOf(value) as object) as Record<string, unknown>;
  for (const key of Object.keys(value)) copy[key] = deepCopy((value as Record<string, unknown>)[key]);
  return copy as T;
}
