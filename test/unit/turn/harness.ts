// Test harness for the pure TURN core: a fake clock, clients, and a session that does the
// long-term-credential dance (401 -> nonce -> signed request) the way a real client does.
import { TurnCore, type TurnAction, type TurnCoreOptions } from '../../../turn/core.js';
import type { Allocation, ClientRef } from '../../../turn/allocation.js';
import { createCredentialResolver } from '../../../turn/credentials.js';
import { PeerFilter } from '../../../turn/peer-filter.js';
import { MessageBuilder } from '../../../turn/stun/builder.js';
import { Attr, StunClass, messageType, Method } from '../../../turn/stun/constants.js';
import { decodeErrorCode, decodeText, decodeUint32, decodeXorAddress, encodeXorAddress, encodeUint32, type TransportAddress } from '../../../turn/stun/attributes.js';
import { longTermKey } from '../../../turn/stun/integrity.js';
import { decodeStunMessage, findAttribute, type StunMessage } from '../../../turn/stun/message.js';
import { randomBytes } from 'node:crypto';

export const REALM = 'test.realm';
export const T0 = 1_700_000_000_000;

export type Observed = { created: number; deleted: string[]; refused: string[]; authFailures: string[] };

export function makeCore(overrides: Partial<TurnCoreOptions> & { allowed?: string[]; denied?: string[] } = {}): {
  core: TurnCore;
  observed: Observed;
} {
  const observed: Observed = { created: 0, deleted: [], refused: [], authFailures: [] };
  const filter = new PeerFilter(overrides.allowed ?? ['127.0.0.1/32'], overrides.denied ?? []);
  const core = new TurnCore({
    realm: REALM,
    software: 'tsfu-test',
    relayAddress: '127.0.0.1',
    relayFamily: 4,
    relayPortRange: [50000, 50099],
    defaultLifetimeSeconds: 600,
    maxLifetimeSeconds: 3600,
    nonceLifetimeSeconds: 600,
    bandwidthBytesPerSecond: 0,
    maxPermissionsPerAllocation: 64,
    maxChannelsPerAllocation: 64,
    maxAllocationsPerUser: 100,
    maxAllocationsTotal: 1000,
    unauthenticatedRateLimit: { perSecond: 0, burst: 1 },
    resolveCredentials: createCredentialResolver({ users: { alice: 'alice-pw', bob: 'bob-pw' }, authSecret: 'rest-secret' }),
    allowPeer: (a) => filter.allows(a),
    observer: {
      allocationCreated: () => observed.created++,
      allocationDeleted: (_a, reason) => observed.deleted.push(reason),
      allocationRefused: (reason) => observed.refused.push(reason),
      authFailure: (reason) => observed.authFailures.push(reason),
    },
    ...overrides,
  });
  return { core, observed };
}

let nextPort = 40000;
export function udpClient(transport: 'udp' | 'tcp' = 'udp'): ClientRef {
  const port = nextPort++;
  return { key: `${transport}|127.0.0.1|${port}`, transport, address: '127.0.0.1', port, family: 4, handle: null };
}

export const peer = (address = '127.0.0.1', port = 60000): TransportAddress => ({ family: address.includes(':') ? 6 : 4, address, port });

export type Attrs = Array<[number, Buffer]>;

export function sends(actions: TurnAction[]): StunMessage[] {
  return actions.filter((a) => a.kind === 'send').map((a) => decodeStunMessage((a as { data: Buffer }).data)!);
}

export function errorCodeOf(msg: StunMessage | undefined): number | null {
  const attr = msg && findAttribute(msg, Attr.ErrorCode);
  return attr ? decodeErrorCode(msg!, attr)!.code : null;
}

export function errorReasonOf(msg: StunMessage | undefined): string | null {
  const attr = msg && findAttribute(msg, Attr.ErrorCode);
  return attr ? decodeErrorCode(msg!, attr)!.reason : null;
}

export function xorAttr(msg: StunMessage, type: number): TransportAddress | null {
  const attr = findAttribute(msg, type);
  return attr ? decodeXorAddress(msg, attr) : null;
}

export function lifetimeOf(msg: StunMessage): number | null {
  const attr = findAttribute(msg, Attr.Lifetime);
  return attr ? decodeUint32(msg, attr) : null;
}

export function buildRequest(method: number, attrs: Attrs, auth?: { username: string; password: string; nonce: string }, tid: Buffer = randomBytes(12)): Buffer {
  const b = new MessageBuilder(messageType(method, StunClass.Request), tid);
  for (const [t, v] of attrs) b.add(t, v);
  if (!auth) return b.finish({ fingerprint: true });
  b.addText(Attr.Username, auth.username).addText(Attr.Realm, REALM).addText(Attr.Nonce, auth.nonce);
  return b.finish({ integrityKey: longTermKey(auth.username, REALM, auth.password), fingerprint: true });
}

export const peerAttr = (p: TransportAddress, tid: Buffer): [number, Buffer] => [Attr.XorPeerAddress, encodeXorAddress(p, tid)];
export const udpTransport: [number, Buffer] = [Attr.RequestedTransport, Buffer.from([17, 0, 0, 0])];
export const lifetimeAttr = (s: number): [number, Buffer] => [Attr.Lifetime, encodeUint32(s)];
export const channelAttr = (n: number): [number, Buffer] => {
  const v = Buffer.alloc(4);
  v.writeUInt16BE(n, 0);
  return [Attr.ChannelNumber, v];
};

/** One client's view: keeps a nonce, signs requests, completes relay binds. */
export class Session {
  nonce = '';
  constructor(
    readonly core: TurnCore,
    readonly client: ClientRef,
    readonly clock: { now: number },
    public username = 'alice',
    public password = 'alice-pw',
  ) {}

  /** Sends a signed request (getting a nonce first if needed); returns actions, binding relays. */
  raw(method: number, attrs: (tid: Buffer) => Attrs, tid: Buffer = randomBytes(12)): TurnAction[] {
    if (!this.nonce) {
      const challenge = sends(this.core.handleMessage(this.client, buildRequest(method, attrs(tid), undefined, tid), this.clock.now))[0];
      this.nonce = decodeText(challenge, findAttribute(challenge, Attr.Nonce)!, 763)!;
    }
    let actions = this.signed(method, attrs, tid);
    const first = sends(actions)[0];
    if (errorCodeOf(first) === 438) {
      // Stale nonce (RFC 8489 §9.2.4): take the fresh one and retry, as clients do.
      this.nonce = decodeText(first, findAttribute(first, Attr.Nonce)!, 763)!;
      actions = this.signed(method, attrs, tid);
    }
    const out: TurnAction[] = [];
    for (const a of actions) {
      out.push(a);
      if (a.kind === 'open-relay') out.push(...this.core.relayOpened(a.allocation));
    }
    return out;
  }

  signed(method: number, attrs: (tid: Buffer) => Attrs, tid: Buffer): TurnAction[] {
    const req = buildRequest(method, attrs(tid), { username: this.username, password: this.password, nonce: this.nonce }, tid);
    return this.core.handleMessage(this.client, req, this.clock.now);
  }

  call(method: number, attrs: (tid: Buffer) => Attrs = () => [], tid?: Buffer): StunMessage {
    const res = sends(this.raw(method, attrs, tid));
    if (res.length !== 1) throw new Error(`expected one response, got ${res.length}`);
    return res[0];
  }

  allocate(extra: Attrs = []): StunMessage {
    return this.call(Method.Allocate, () => [udpTransport, ...extra]);
  }

  allocation(): Allocation {
    const a = this.core.allocationOf(this.client.key);
    if (!a) throw new Error('no allocation');
    return a;
  }

  permit(p: TransportAddress): StunMessage {
    return this.call(Method.CreatePermission, (tid) => [peerAttr(p, tid)]);
  }

  bind(channel: number, p: TransportAddress): StunMessage {
    return this.call(Method.ChannelBind, (tid) => [channelAttr(channel), peerAttr(p, tid)]);
  }

  refresh(lifetime?: number): StunMessage {
    return this.call(Method.Refresh, () => (lifetime === undefined ? [] : [lifetimeAttr(lifetime)]));
  }
}

export function channelData(channel: number, data: Buffer): Buffer {
  const out = Buffer.alloc(4 + data.length);
  out.writeUInt16BE(channel, 0);
  out.writeUInt16BE(data.length, 2);
  data.copy(out, 4);
  return out;
}

export function sendIndication(p: TransportAddress, data: Buffer): Buffer {
  const tid = randomBytes(12);
  return new MessageBuilder(messageType(Method.Send, StunClass.Indication), tid).add(Attr.XorPeerAddress, encodeXorAddress(p, tid)).add(Attr.Data, data).finish();
}
