import { RTCCertificate, type RTCDtlsFingerprint } from 'werift';

/**
 * werift recomputes the DTLS fingerprint (RFC 8122 §5) of its certificate by parsing the PEM certificate
 * (X.509 in JavaScript) every time it writes an m-line: for a 200-m-line subscriber offer that is 200
 * parses, about a third of building the offer. A certificate never changes, so its fingerprints are
 * computed once per certificate and then copied. Applied once, at import (werift 0.25.2's RTCCertificate).
 */
const computed = new WeakMap<RTCCertificate, RTCDtlsFingerprint[]>();
const original = RTCCertificate.prototype.getFingerprints;

if (!(original as { memoized?: boolean }).memoized) {
  const memoized = function getFingerprints(this: RTCCertificate): RTCDtlsFingerprint[] {
    let fingerprints = computed.get(this);
    if (!fingerprints) {
      fingerprints = original.call(this);
      computed.set(this, fingerprints);
    }
    // Callers may keep or change what they get: each gets its own objects, as before.
    return fingerprints.map((f) => Object.assign(Object.create(Object.getPrototypeOf(f) as object) as RTCDtlsFingerprint, f));
  };
  (memoized as { memoized?: boolean }).memoized = true;
  RTCCertificate.prototype.getFingerprints = memoized;
}

export {};
