import type { TrackLayer } from '../media/track-layer.js';
import type { VideoTrackSettings } from '../sfu-types.js';
import type { VideoSettings } from './downlink-allocator.js';

const QUALITY_CAP = { low: 0, medium: 1, high: Infinity } as const;

/**
 * What a subscriber's settings for a video track mean in layers: the smallest layer at least as large as the
 * size it is shown at (larger is wasted on the screen; LiveKit chooses the same way), capped by the quality the
 * application chose. Layers whose size the publisher did not describe are not judged by size.
 */
export function videoSettingsFor(layers: readonly TrackLayer[], settings: VideoTrackSettings): VideoSettings {
  const top = layers.length - 1;
  let maxLayer = Math.min(top, QUALITY_CAP[settings.quality ?? 'high']);
  if (settings.width !== undefined || settings.height !== undefined) {
    const covering = layers.find(
      (layer) => layer.width !== undefined && layer.height !== undefined && layer.width >= (settings.width ?? 0) && layer.height >= (settings.height ?? 0),
    );
    if (covering) maxLayer = Math.min(maxLayer, covering.index);
  }
  return { enabled: settings.enabled ?? true, maxLayer };
}
