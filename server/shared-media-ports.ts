import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { registerMediaPortMetrics } from '../sfu/peer/media-port-metrics.js';
import type { SharedMediaPorts } from '../sfu/peer/shared-media-ports.js';
import { TcpMux } from '../sfu/peer/tcp-mux.js';
import { UdpMux } from '../sfu/peer/udp-mux.js';
import { registerTcpMuxMetrics, registerUdpMuxMetrics } from '../sfu/peer/shared-port-metrics.js';
import type { Config } from './config.js';

/**
 * The node's one UDP port (and ICE-TCP port) when rtc.udpPort (rtc.tcpPort) is set, with their metrics; otherwise
 * undefined and the port range's metrics. Nothing stays open when it throws.
 */
export async function openSharedMediaPorts(rtc: Config['rtc'], registry: Registry, logger: Logger): Promise<SharedMediaPorts | undefined> {
  if (rtc.udpPort < 0) {
    registerMediaPortMetrics(registry, rtc);
    return undefined;
  }
  const udp = await UdpMux.open(rtc.listenIp, rtc.udpPort);
  let tcp: TcpMux | undefined;
  try {
    if (rtc.tcpPort >= 0) tcp = await TcpMux.open(rtc.listenIp, rtc.tcpPort, (ufrag) => udp.connectionForUfrag(ufrag));
  } catch (error) {
    await udp.close();
    throw error;
  }
  registerUdpMuxMetrics(registry, udp);
  if (tcp) registerTcpMuxMetrics(registry, tcp);
  logger.info({ udpPort: udp.port, tcpPort: tcp?.port, receiveBufferBytes: udp.receiveBufferBytes }, 'media on one UDP port');
  return { udp, tcp };
}

/** Closes what {@link openSharedMediaPorts} opened. */
export async function closeSharedMediaPorts(ports: SharedMediaPorts | undefined): Promise<void> {
  await Promise.all([ports?.udp.close(), ports?.tcp?.close()]);
}
