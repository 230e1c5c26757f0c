/** Options of the SFU; the server composes them into its config and validates them at start-up. */
export interface SfuOptions {
  /** Local address ICE binds its UDP sockets to. */
  listenIp: string;
  /** Address announced in ICE candidates (1:1 NAT); the listen address when empty. */
  announcedIp: string;
  /** Inclusive UDP port range for media; each peer connection takes one port. */
  portMin: number;
  portMax: number;
  /** Largest data-channel message payload a participant may send. */
  maxDataMessageBytes: number;
  /** Subscribers' PLI/FIR are forwarded to the publisher at most this often per track. */
  pliMinIntervalMs: number;
  /** RTP packets kept per published video track to answer NACKs. Power of two. */
  packetCacheSize: number;
}

export const defaultSfuOptions: SfuOptions = {
  listenIp: '127.0.0.1',
  announcedIp: '',
  portMin: 40000,
  portMax: 49999,
  maxDataMessageBytes: 16 * 1024,
  pliMinIntervalMs: 500,
  packetCacheSize: 1024,
};
