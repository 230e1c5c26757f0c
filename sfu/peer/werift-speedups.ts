import { RTCCertificate, SessionDescription, type RTCDtlsFingerprint } from 'werift';
import { decryptSrtcpOurselves } from '../media/rtp/werift-transport.js';

/**
 * Two of werift's (0.25.2) costs that grow with the m-lines of a description, removed without changing what it
 * computes: publishers' descriptions (subscriber m-lines are the SFU's own, subscriber-sdp.ts) and the werift
 * clients of tests and benchmarks, which apply 200-m-line offers in a full room. Applied once, when this module
 * is first imported (by sfu.ts).
 *
 * 1. The DTLS fingerprint (RFC 8122 §5) of the certificate is recomputed, by parsing the PEM certificate (X.509
 *    in JavaScript), for every m-line written: computed once per certificate, then copied.
 * 2. `setRemoteDescription` parses the same SDP text three times (a codec preview, a BUNDLE check, the stored
 *    description): the parse of a text is reused by later parses of the same text in the same turn of the event
 *    loop (the cache is emptied at the next turn, so descriptions stored and later changed are never shared).
 * 3. SRTCP is decrypted by our SrtcpReceiver (sfu/media/rtp/srtcp-receiver.ts, installed by
 *    `decryptSrtcpOurselves`): werift's own decryption of the subscribers' feedback was ~6 % of the server's CPU
 *    at 40 subscribers (docs/BENCHMARKS.md). It also refuses replayed SRTCP, which werift did not.
 *
 * Two more are patched into werift at install (patches/, listed with every other werift change in docs/WERIFT.md).
 *
 * werift internals touched: `RTCCertificate.prototype.getFingerprints`, `SessionDescription.parse` (replaced;
 * it calls the original), `RTCDtlsTransport.prototype.updateSrtpSession` (wrapped; see werift-transport.ts).
 */
const PATCHED = Symbol.for('tsfu.werift-speedups');
const patched = globalThis as { [PATCHED]?: boolean };

/** werift's own parser, captured before it is replaced. */
const weriftParse = SessionDescription.parse.bind(SessionDescription);

if (!patched[PATCHED]) {
  patched[PATCHED] = true;
  decryptSrtcpOurselves();

  const fingerprints = new WeakMap<RTCCertificate, RTCDtlsFingerprint[]>();
  const getFingerprints = RTCCertificate.prototype.getFingerprints;
  RTCCertificate.prototype.getFingerprints = function (this: RTCCertificate): RTCDtlsFingerprint[] {
    let computed = fingerprints.get(this);
    if (!computed) {
      computed = getFingerprints.call(this);
      fingerprints.set(this, computed);
    }
    // Callers may keep or change what they get: each gets its own objects, as before.
    return computed.map((f) => Object.assign(Object.create(Object.getPrototypeOf(f) as object) as RTCDtlsFingerprint, f));
  };

  let lastText: string | undefined;
  let lastParsed: SessionDescription | undefined;
  SessionDescription.parse = (sdp: string): SessionDescription => {
    if (sdp === lastText && lastParsed) return lastParsed;
    const parsed = weriftParse(sdp);
    if (lastText === undefined) {
      setImmediate(() => {
        lastText = undefined;
        lastParsed = undefined;
      });
    }
    lastText = sdp;
    lastParsed = parsed;
    return parsed;
  };
}
