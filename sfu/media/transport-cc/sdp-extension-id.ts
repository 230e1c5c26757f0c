/**
 * The ids negotiated for an RTP header extension (RFC 8285 §8: `a=extmap:<id>[/<direction>] <uri>`), read from a
 * session description, as a lookup table indexed by id (1 = this extension).
 *
 * In a BUNDLE group one URI should have one id in every m-section (RFC 8843 §9.2), and Chromium does that, but
 * werift as an offerer numbers each m-section on its own (video 3, 4; audio 1, 2). So every id mapped to `uri` in
 * some m-section counts, unless another m-section maps it to a different URI (then the id is ambiguous on a
 * shared transport and is left out). `undefined` if the extension was not negotiated.
 */
export function findExtensionIds(sdp: string, uri: string): Uint8Array | undefined {
  const table = new Uint8Array(256);
  const conflicting = new Uint8Array(256);
  let found = false;
  for (const line of sdp.split(/\r?\n/)) {
    if (!line.startsWith('a=extmap:')) continue;
    const [idAndDirection, lineUri] = line.slice('a=extmap:'.length).split(' ');
    const id = Number.parseInt(idAndDirection, 10);
    if (!(id >= 1 && id <= 255)) continue;
    if (lineUri === uri) {
      table[id] = 1;
      found = true;
    } else {
      conflicting[id] = 1;
    }
  }
  if (!found) return undefined;
  for (let id = 1; id < 256; id++) if (conflicting[id]) table[id] = 0;
  return table.includes(1) ? table : undefined;
}
