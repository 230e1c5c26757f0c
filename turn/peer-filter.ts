// Which peer addresses a client may relay to (RFC 8656 §21.3 "Preventing... attacks on internal
// hosts"; coturn's denied-peer-ip / allowed-peer-ip). Order: the operator's deny list wins, then the
// operator's allow list, then the built-in deny list of non-public ranges; everything else is allowed.
import { parseIp } from './ip.js';

/** Loopback, private, shared, link-local, multicast, reserved and unspecified ranges. */
export const DEFAULT_DENIED_PEER_CIDRS: readonly string[] = [
  '0.0.0.0/8',
  '10.0.0.0/8',
  '100.64.0.0/10',
  '127.0.0.0/8',
  '169.254.0.0/16',
  '172.16.0.0/12',
  '192.0.0.0/24',
  '192.168.0.0/16',
  '198.18.0.0/15',
  '224.0.0.0/4',
  '240.0.0.0/4',
  '::/128',
  '::1/128',
  '::ffff:0:0/96',
  '64:ff9b::/96',
  'fc00::/7',
  'fe80::/10',
  'ff00::/8',
];

interface Cidr {
  readonly bytes: Uint8Array;
  readonly bits: number;
}

/** Parses "a.b.c.d/n" or "x::/n" (a bare address means a host route); null when malformed. */
export function parseCidr(text: string): Cidr | null {
  const slash = text.indexOf('/');
  const bytes = parseIp(slash < 0 ? text : text.slice(0, slash));
  if (!bytes) return null;
  const max = bytes.length * 8;
  const bitsText = slash < 0 ? String(max) : text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(bitsText)) return null;
  const bits = Number(bitsText);
  return bits > max ? null : { bytes, bits };
}

function contains(cidr: Cidr, ip: Uint8Array): boolean {
  if (cidr.bytes.length !== ip.length) return false;
  let bits = cidr.bits;
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((cidr.bytes[i] & mask) !== (ip[i] & mask)) return false;
  }
  return true;
}

function parseAll(list: readonly string[]): Cidr[] {
  return list.map((c) => {
    const parsed = parseCidr(c);
    if (!parsed) throw new Error(`turn: invalid CIDR "${c}"`);
    return parsed;
  });
}

export class PeerFilter {
  readonly #denied: Cidr[];
  readonly #allowed: Cidr[];
  readonly #builtin: Cidr[];

  constructor(allowed: readonly string[], denied: readonly string[]) {
    this.#allowed = parseAll(allowed);
    this.#denied = parseAll(denied);
    this.#builtin = parseAll(DEFAULT_DENIED_PEER_CIDRS);
  }

  /** True when relaying to this IP address is allowed. Unparseable addresses are refused. */
  allows(address: string): boolean {
    const ip = parseIp(address);
    if (!ip) return false;
    // IPv4-mapped IPv6 is judged as the IPv4 address it carries.
    const mapped = ip.length === 16 && contains({ bytes: parseIp('::ffff:0:0')!, bits: 96 }, ip) ? ip.subarray(12) : null;
    const subject = mapped ?? ip;
    if (this.#denied.some((c) => contains(c, subject))) return false;
    if (this.#allowed.some((c) => contains(c, subject))) return true;
    return !this.#builtin.some((c) => contains(c, subject));
  }
}
