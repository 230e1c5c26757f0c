/** One simulcast encoding the SDK publishes: its rid, how much smaller than the capture, and its bitrate cap. */
export interface SimulcastLayer {
  rid: string;
  scaleResolutionDownBy: number;
  maxBitrate: number;
}

/**
 * The simulcast layers for a camera of this capture size, lowest first: three from 720p up (quarter, half, full),
 * two from 360p, none below (a lower layer would be too small to be worth a subscriber's switch). Bitrates are
 * those browsers use for these sizes at 30 fps.
 */
export function cameraLayers(width: number, height: number): SimulcastLayer[] {
  const shorter = Math.min(width, height);
  if (shorter >= 720) {
    return [
      { rid: 'q', scaleResolutionDownBy: 4, maxBitrate: 150_000 },
      { rid: 'h', scaleResolutionDownBy: 2, maxBitrate: 500_000 },
      { rid: 'f', scaleResolutionDownBy: 1, maxBitrate: 1_700_000 },
    ];
  }
  if (shorter >= 360) {
    return [
      { rid: 'h', scaleResolutionDownBy: 2, maxBitrate: 200_000 },
      { rid: 'f', scaleResolutionDownBy: 1, maxBitrate: 800_000 },
    ];
  }
  return [];
}

/** The layers as the server is told about them (docs/PROTOCOL.md, "Simulcast"): rid and resolution, lowest first. */
export function describeLayers(layers: readonly SimulcastLayer[], width: number, height: number): { rid: string; width: number; height: number }[] {
  return layers.map((l) => ({ rid: l.rid, width: Math.round(width / l.scaleResolutionDownBy), height: Math.round(height / l.scaleResolutionDownBy) }));
}
