/**
 * The id negotiated for an RTP header extension (RFC 8285 §8: `a=extmap:<id>[/<direction>] <uri>`), read from
 * a session description. Within a BUNDLE group one URI has one id in every m-section (RFC 8843 §9.1.3 via
 * RFC 8285 §6), so the first match serves the whole transport. `undefined` if the extension was not negotiated.
 */
export function findExtensionId(sdp: string, uri: string): number | undefined {
  for (const line of sdp.split(/\r?\n/)) {
    if (!line.startsWith('a=extmap:')) continue;
    const [idAndDirection, lineUri] = line.slice('a=extmap:'.length).split(' ');
    if (lineUri !== uri) continue;
    const id = Number.parseInt(idAndDirection, 10);
    if (id >= 1 && id <= 255) return id;
  }
  return undefined;
}
