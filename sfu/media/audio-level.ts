/**
 * The client-to-mixer audio level (RFC 6464), read from each packet of a published audio track on the forwarding
 * path: one byte, `V` (voice activity, RFC 6464 §3) in its top bit and the level in the low 7 bits, in -dBov
 * (0 is the loudest, 127 digital silence). werift has already split the header extension block into elements
 * (one-byte or two-byte form, RFC 8285 §4.2/§4.3); finding the one with the negotiated id is a short loop.
 */
export const AUDIO_LEVEL_URI = 'urn:ietf:params:rtp-hdrext:ssrc-audio-level';

/** The quietest level (RFC 6464 §3: 127 = -127 dBov, "digital silence"). */
export const SILENCE_DBOV = 127;

/** Each level's amplitude relative to overload, 10^(-level/20): a table, so that no packet pays for Math.pow. */
export const AMPLITUDE_OF_LEVEL: Float64Array = Float64Array.from({ length: SILENCE_DBOV + 1 }, (_, level) => 10 ** (-level / 20));

/** The level (0..127) in the element with `id` of a packet's header extensions; -1 when it has none. */
export function audioLevelOf(extensions: readonly { id: number; payload: Uint8Array }[], id: number): number {
  for (let i = 0; i < extensions.length; i++) {
    const element = extensions[i];
    if (element.id !== id) continue;
    return element.payload.length > 0 ? element.payload[0] & 0x7f : -1;
  }
  return -1;
}

/**
 * What one audio track's packets said since the active-speaker observer last looked: how many carried a level and the
 * sum of their amplitudes (their mean is the window's loudness). Two numbers added per packet, read and reset by
 * the observer a few times a second.
 */
export class AudioLevelMeter {
  packets = 0;
  amplitudeSum = 0;

  observe(level: number): void {
    this.packets++;
    this.amplitudeSum += AMPLITUDE_OF_LEVEL[level];
  }

  reset(): void {
    this.packets = 0;
    this.amplitudeSum = 0;
  }
}
