import { Gauge, type Registry } from 'prom-client';
import { mediaPortPool } from './media-port-pool.js';
import type { SfuOptions } from '../sfu-options.js';

/** Gauges of the media port range: sockets bound (one per open peer connection) and ports left. */
export function registerMediaPortMetrics(registry: Registry, options: Pick<SfuOptions, 'listenIp' | 'portMin' | 'portMax'>): void {
  const pool = mediaPortPool(options.listenIp, options.portMin, options.portMax);
  new Gauge({
    name: 'tsfu_sfu_media_sockets',
    help: 'UDP sockets bound (or being bound) for media in rtc.portMin..portMax',
    registers: [registry],
    collect() {
      this.set(pool.inUse);
    },
  });
  new Gauge({
    name: 'tsfu_sfu_media_ports_free',
    help: 'Ports of rtc.portMin..portMax free for new peer connections',
    registers: [registry],
    collect() {
      this.set(pool.free);
    },
  });
}
