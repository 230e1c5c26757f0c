/**
 * RTP header extension ids are negotiated per peer connection (RFC 8285 §5), so the ids a publisher uses
 * mean nothing to a subscriber. Forwarded extensions are remapped by URI; all others are stripped.
 */
export type ExtensionIdMap = Record<number, string>;

/** The id negotiated for extension `uri` (RFC 8285 §5), 0 when it was not negotiated. */
export function extensionIdOf(extensions: ExtensionIdMap, uri: string): number {
  for (const [id, value] of Object.entries(extensions)) if (value === uri) return Number(id);
  return 0;
}

/** Extensions whose value is meaningful end to end; the SFU writes mid, transport-cc and abs-send-time itself. */
export const FORWARDED_EXTENSION_URIS: ReadonlySet<string> = new Set([
  'urn:ietf:params:rtp-hdrext:ssrc-audio-level',
  'urn:3gpp:video-orientation',
  'http://www.webrtc.org/experiments/rtp-hdrext/playout-delay',
]);

/** Table indexed by publisher id (1–14, RFC 8285 one-byte form) giving the subscriber id, 0 = strip. */
export function buildExtensionRemap(publisher: ExtensionIdMap, subscriber: ExtensionIdMap, forwarded = FORWARDED_EXTENSION_URIS): Uint8Array {
  const table = new Uint8Array(256);
  const subscriberIdByUri = new Map<string, number>();
  for (const [id, uri] of Object.entries(subscriber)) subscriberIdByUri.set(uri, Number(id));
  for (const [id, uri] of Object.entries(publisher)) {
    const target = subscriberIdByUri.get(uri);
    if (target !== undefined && forwarded.has(uri)) table[Number(id)] = target;
  }
  return table;
}
