/**
 * Who owns what on a shared UDP port: each session's current local ICE ufrag, and the remote addresses
 * ("ip/port") learned for it. Pure bookkeeping, no I/O: the mux ({@link UdpMux}) decides with it where a datagram
 * goes. A session's addresses are capped (oldest forgotten first), so a client listing thousands of candidates
 * cannot grow the maps without bound.
 */
export class UdpDemuxTable<S> {
  readonly #byUfrag = new Map<string, S>();
  readonly #byAddress = new Map<string, S>();
  readonly #ufragOf = new Map<S, string>();
  /** Insertion-ordered, so the oldest address is the first. */
  readonly #addressesOf = new Map<S, Set<string>>();
  readonly #maxAddressesPerSession: number;

  constructor(maxAddressesPerSession = 64) {
    this.#maxAddressesPerSession = maxAddressesPerSession;
  }

  /** Entries of the two maps (both 0 once every session is removed). */
  get sizes(): { ufrags: number; addresses: number } {
    return { ufrags: this.#byUfrag.size, addresses: this.#byAddress.size };
  }

  /** Every key of the two maps (for dumps and tests). */
  keys(): { ufrags: string[]; addresses: string[] } {
    return { ufrags: [...this.#byUfrag.keys()], addresses: [...this.#byAddress.keys()] };
  }

  hasUfrag(ufrag: string): boolean {
    return this.#byUfrag.has(ufrag);
  }

  byUfrag(ufrag: string): S | undefined {
    return this.#byUfrag.get(ufrag);
  }

  byAddress(address: string): S | undefined {
    return this.#byAddress.get(address);
  }

  /** Gives `session` the ufrag (its previous one is forgotten). Throws when another session holds it. */
  setUfrag(session: S, ufrag: string): void {
    const holder = this.#byUfrag.get(ufrag);
    if (holder !== undefined && holder !== session) throw new Error(`ufrag ${ufrag} is another session's`);
    const previous = this.#ufragOf.get(session);
    if (previous !== undefined) this.#byUfrag.delete(previous);
    this.#byUfrag.set(ufrag, session);
    this.#ufragOf.set(session, ufrag);
  }

  /**
   * Routes `address` to `session`. An address another session holds is moved only when `take` (the sender proved
   * it is this session's peer); otherwise the call changes nothing and returns false.
   */
  bindAddress(session: S, address: string, take: boolean): boolean {
    const holder = this.#byAddress.get(address);
    if (holder === session) return true;
    if (holder !== undefined) {
      if (!take) return false;
      this.#addressesOf.get(holder)?.delete(address);
      if (this.#addressesOf.get(holder)?.size === 0) this.#addressesOf.delete(holder);
    }
    let addresses = this.#addressesOf.get(session);
    if (!addresses) this.#addressesOf.set(session, (addresses = new Set()));
    if (addresses.size >= this.#maxAddressesPerSession) {
      const oldest = addresses.values().next().value as string;
      addresses.delete(oldest);
      this.#byAddress.delete(oldest);
    }
    addresses.add(address);
    this.#byAddress.set(address, session);
    return true;
  }

  addressesOf(session: S): readonly string[] {
    return [...(this.#addressesOf.get(session) ?? [])];
  }

  /** Forgets the session's ufrag and addresses. */
  remove(session: S): void {
    const ufrag = this.#ufragOf.get(session);
    if (ufrag !== undefined && this.#byUfrag.get(ufrag) === session) this.#byUfrag.delete(ufrag);
    this.#ufragOf.delete(session);
    for (const address of this.#addressesOf.get(session) ?? []) this.#byAddress.delete(address);
    this.#addressesOf.delete(session);
  }
}

/** The table's key of a remote transport address. */
export function addressKey(ip: string, port: number): string {
  return `${ip}/${port}`;
}
