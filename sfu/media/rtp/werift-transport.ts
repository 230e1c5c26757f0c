import { RTCDtlsTransport, SrtpAuthenticationError } from 'werift';
import { SrtcpReceiver } from './srtcp-receiver.js';
import { SrtpSender } from './srtp-sender.js';

/**
 * The werift internals the DownTrack's send path relies on (werift 0.25.2), kept in one place:
 * - `dtls.srtp` is the SrtpSession werift makes when DTLS completes (and again on a DTLS restart); its
 *   `localContext` holds the session keys werift derived for sending (`srtpSessionKey`, `srtpSessionSalt`,
 *   `srtpSessionAuthTag`) and the negotiated `profile`;
 * - `dtls.iceTransport.connection.send(buf)` is what `dtls.sendRtp` sends through (it resolves when the
 *   datagram is handed to the socket);
 * - `dtls.bytesSent` / `dtls.packetsSent` feed werift's transport stats;
 * - `dtls.decryptedRtcpFilter` (added by patches/werift+0.25.2.patch) sees every decrypted RTCP compound packet
 *   before werift parses it, and takes it from werift by returning true.
 */
interface WeriftLocalContext {
  profile: number;
  srtpSessionKey: Buffer;
  srtpSessionSalt: Buffer;
  srtpSessionAuthTag: Buffer;
}

const senders = new WeakMap<object, SrtpSender>();
const ignore = () => undefined;

/** The SRTP sender for the transport's current SRTP session (shared by every DownTrack on it), if keyed. */
export function srtpSenderFor(dtls: RTCDtlsTransport): SrtpSender | undefined {
  const session = dtls.srtp as unknown as { localContext?: WeriftLocalContext } | undefined;
  const context = session?.localContext;
  if (!session || !context) return undefined;
  let sender = senders.get(session);
  if (!sender) {
    sender = new SrtpSender({
      profile: context.profile,
      key: context.srtpSessionKey,
      salt: context.srtpSessionSalt,
      authKey: context.srtpSessionAuthTag,
    });
    senders.set(session, sender);
  }
  return sender;
}

/** The identity of the transport's current SRTP session: changes when werift re-keys. */
export function srtpSessionOf(dtls: RTCDtlsTransport): object | undefined {
  return dtls.srtp as unknown as object | undefined;
}

/** Sends a protected packet on the transport's ICE connection without waiting, as `dtls.sendRtp` does. */
export function sendProtected(dtls: RTCDtlsTransport, packet: Buffer): void {
  dtls.bytesSent += packet.length;
  dtls.packetsSent++;
  dtls.iceTransport.connection.send(packet).catch(ignore);
}

/**
 * Gives `filter` every RTCP compound packet `dtls` receives, decrypted, before werift parses it; when the filter
 * returns true werift does not parse it at all. Returns the function that removes the filter.
 */
export function filterDecryptedRtcp(dtls: RTCDtlsTransport, filter: (compound: Buffer) => boolean): () => void {
  const target = dtls as unknown as { decryptedRtcpFilter?: (compound: Buffer) => boolean };
  target.decryptedRtcpFilter = filter;
  return () => {
    if (target.decryptedRtcpFilter === filter) target.decryptedRtcpFilter = undefined;
  };
}

const OWN_SRTCP = Symbol.for('tsfu.own-srtcp');
/** Thrown (one shared instance, no stack captured per packet) for every refused SRTCP packet: werift drops it. */
const refused = new SrtpAuthenticationError('SRTCP packet refused (authentication, length or replay)');

interface WeriftSrtcpSession {
  remoteContext: { profile: number; srtcpSessionKey: Buffer; srtcpSessionSalt: Buffer; srtcpSessionAuthTag: Buffer };
  decrypt: (packet: Buffer) => Buffer;
}

/**
 * Makes every werift DTLS transport decrypt the SRTCP it receives with an SrtcpReceiver (srtcp-receiver.ts) instead
 * of werift's own decryption; idempotent. werift internals: `RTCDtlsTransport.prototype.updateSrtpSession()` makes
 * the SRTCP session (`this.srtcp`, a `SrtcpSession` whose `remoteContext` holds the remote side's derived SRTCP
 * keys) when DTLS completes or restarts, and the transport's receive handler calls `this.srtcp.decrypt(datagram)`
 * (an instance property) for every SRTCP datagram, dropping the packet when it throws `SrtpAuthenticationError`.
 */
export function decryptSrtcpOurselves(): void {
  const proto = RTCDtlsTransport.prototype as unknown as { updateSrtpSession: () => void; [OWN_SRTCP]?: true };
  if (proto[OWN_SRTCP]) return;
  const update = proto.updateSrtpSession;
  if (typeof update !== 'function') throw new Error('werift RTCDtlsTransport.updateSrtpSession is missing: sfu/media/rtp/werift-transport.ts needs updating');
  proto[OWN_SRTCP] = true;
  proto.updateSrtpSession = function (this: { srtcp?: WeriftSrtcpSession }) {
    update.call(this);
    const session = this.srtcp;
    const context = session?.remoteContext;
    if (!session || !context) return;
    const receiver = new SrtcpReceiver({ profile: context.profile, key: context.srtcpSessionKey, salt: context.srtcpSessionSalt, authKey: context.srtcpSessionAuthTag });
    session.decrypt = (packet: Buffer): Buffer => {
      const compound = receiver.unprotect(packet);
      if (!compound) throw refused;
      return compound;
    };
  };
}
