/** One simulcast encoding the SDK publishes: its rid, how much smaller than the capture, and its bitrate cap. */
export interface SimulcastLayer {
  rid: string;
  scaleResolutionDownBy: number;
  maxBitrate: number;
}

/**
 * The simulcast layers for a camera of this capture size, lowest first: three from 720p up (quarter, half, full),
 * two from 360p, none below (a lower layer would be too small to be worth a subscriber's switch). Bitrates are
 * the same for a size whatever the capture: 320x180 at 100 kbps (mediasoup's demo uses that for its lowest layer),
 * so three cameras' low layers and microphones fit a 600 kbit/s home link with room to spare.
 */
export function cameraLayers(width: number, height: number): SimulcastLayer[] {
  const shorter = Math.min(width, height);
  if (shorter >= 720) {
    return [
      { rid: 'q', scaleResolutionDownBy: 4, maxBitrate: 100_000 },
      { rid: 'h', scaleResolutionDownBy: 2, maxBitrate: 500_000 },
      { rid: 'f', scaleResolutionDownBy: 1, maxBitrate: 1_700_000 },
    ];
  }
  if (shorter >= 360) {
    return [
      { rid: 'h', scaleResolutionDownBy: 2, maxBitrate: 100_000 },
      { rid: 'f', scaleResolutionDownBy: 1, maxBitrate: 500_000 },
    ];
  }
  return [];
}

/** The layers as the server is told about them (docs/PROTOCOL.md, "Simulcast"): rid and resolution, lowest first. */
export function describeLayers(layers: readonly SimulcastLayer[], width: number, height: number): { rid: string; width: number; height: number }[] {
  return layers.map((l) => ({ rid: l.rid, width: Math.round(width / l.scaleResolutionDownBy), height: Math.round(height / l.scaleResolutionDownBy) }));
}
