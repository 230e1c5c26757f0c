import type { TcpMux } from './tcp-mux.js';
import type { UdpMux } from './udp-mux.js';

/** The node's media ports shared by every peer connection (rtc.udpPort, rtc.tcpPort); the server opens and closes them. */
export interface SharedMediaPorts {
  udp: UdpMux;
  /** ICE-TCP passive candidates on one port (RFC 6544), routed by the ufrags the UDP mux hands out. */
  tcp?: TcpMux;
}
