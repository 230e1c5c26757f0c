import type { RTCDtlsTransport, RTCPeerConnection } from 'werift';

/** Enough for a ClientHello sent twice, fragmented (RFC 6347 §4.2.3); anything past it waits for a retransmit. */
const MAX_PACKETS = 16;
const MAX_BYTES = 32 * 1024;

/** RFC 7983 §7: a datagram whose first byte is 20–63 is a DTLS record. */
const isDtlsRecord = (data: Buffer) => data.length > 0 && data[0] >= 20 && data[0] <= 63;

/**
 * Keeps the DTLS records that reach a peer connection before werift has started its DTLS endpoint, and hands them
 * to it once it has (sfu/peer/werift-peer-internals.ts, "Early DTLS").
 *
 * Why: on the subscriber connection the SFU offers `setup:actpass`, clients answer `active` (RFC 5763 §5), so
 * the SFU is the DTLS server, and werift starts the server only after its own checks and nomination end. A client
 * may start DTLS as soon as one of its own checks succeeds (RFC 8445 §12.1: data may flow on a valid pair), so its
 * first ClientHello can arrive while nobody listens, and the handshake then waits for the client's retransmission
 * timer (RFC 6347 §4.2.4.1: 1 s initially in OpenSSL, 500 ms in werift).
 */
export function bufferEarlyDtls(pc: RTCPeerConnection): void {
  const attached = new WeakSet<RTCDtlsTransport>();
  // A DTLS transport exists before its ICE socket is bound, and nothing can arrive before the socket is bound.
  pc.iceGatheringStateChange.subscribe((state) => {
    if (state !== 'gathering') return;
    for (const dtls of pc.dtlsTransports) {
      if (attached.has(dtls) || dtls.state !== 'new') continue;
      attached.add(dtls);
      holdUntilStarted(dtls);
    }
  });
}

function holdUntilStarted(dtls: RTCDtlsTransport): void {
  const connection = dtls.iceTransport.connection;
  const held: Buffer[] = [];
  let bytes = 0;
  const data = connection.onData.subscribe((datagram) => {
    if (dtls.state !== 'new' || !isDtlsRecord(datagram)) return;
    if (held.length >= MAX_PACKETS || bytes + datagram.length > MAX_BYTES) return;
    held.push(datagram);
    bytes += datagram.length;
  });
  const state = dtls.onStateChange.subscribe((next) => {
    if (next === 'new') return;
    data.unSubscribe();
    state.unSubscribe();
    const replay = held.splice(0);
    if (next !== 'connecting' || replay.length === 0) return;
    // start() announces "connecting" and then creates its DTLS endpoint synchronously: replay right after.
    queueMicrotask(() => {
      if (dtls.state !== 'connecting') return;
      for (const datagram of replay) connection.onData.execute(datagram);
    });
  });
}
