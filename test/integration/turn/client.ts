// A minimal TURN client over one UDP socket (one 5-tuple) for integration tests: signed requests
// with the 401/438 nonce dance, Allocate, Refresh, ChannelBind and ChannelData.
import dgram from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { MessageBuilder } from '../../../turn/stun/builder.js';
import { Attr, Method, StunClass, messageType } from '../../../turn/stun/constants.js';
import { decodeErrorCode, decodeText, decodeXorAddress, encodeXorAddress } from '../../../turn/stun/attributes.js';
import { longTermKey } from '../../../turn/stun/integrity.js';
import { decodeStunMessage, findAttribute, type StunMessage } from '../../../turn/stun/message.js';
import { REALM } from './tools.js';

export interface Credentials {
  readonly user: string;
  readonly password: string;
}

export class TurnTestClient {
  readonly #socket: dgram.Socket;
  readonly #serverPort: number;
  readonly #host: string;
  readonly #family: 4 | 6;
  readonly #waiting = new Map<string, (m: StunMessage) => void>();
  #nonce = '';
  /** ChannelData payloads received, by channel number. */
  readonly received: Array<{ channel: number; data: Buffer }> = [];

  private constructor(socket: dgram.Socket, serverPort: number, host: string) {
    this.#socket = socket;
    this.#serverPort = serverPort;
    this.#host = host;
    this.#family = host.includes(':') ? 6 : 4;
    socket.on('message', (msg) => {
      if (msg.length >= 4 && (msg[0] & 0xc0) === 0x40) {
        this.received.push({ channel: msg.readUInt16BE(0), data: Buffer.from(msg.subarray(4, 4 + msg.readUInt16BE(2))) });
        return;
      }
      const m = decodeStunMessage(msg);
      if (m) this.#waiting.get(m.transactionId.toString('hex'))?.(m);
    });
  }

  /** A client on `host` (127.0.0.1 or ::1) talking to the server at the same host. */
  static async open(serverPort: number, host = '127.0.0.1'): Promise<TurnTestClient> {
    const socket = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
    await new Promise<void>((r) => socket.bind(0, host, () => r()));
    return new TurnTestClient(socket, serverPort, host);
  }

  get port(): number {
    return this.#socket.address().port;
  }

  /** A signed request (fetching a fresh nonce on 401/438); resolves with the final response. */
  async request(method: number, attrs: (tid: Buffer) => Array<[number, Buffer]>, creds: Credentials): Promise<StunMessage> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const tid = randomBytes(12);
      const b = new MessageBuilder(messageType(method, StunClass.Request), tid);
      for (const [t, v] of attrs(tid)) b.add(t, v);
      let msg: Buffer;
      if (this.#nonce) {
        b.addText(Attr.Username, creds.user).addText(Attr.Realm, REALM).addText(Attr.Nonce, this.#nonce);
        msg = b.finish({ integrityKey: longTermKey(creds.user, REALM, creds.password), fingerprint: true });
      } else {
        msg = b.finish({ fingerprint: true });
      }
      const res = await this.#exchange(tid, msg);
      const code = errorCode(res);
      const nonce = findAttribute(res, Attr.Nonce);
      if ((code === 401 || code === 438) && nonce && (!this.#nonce || code === 438)) {
        this.#nonce = decodeText(res, nonce, 763) ?? '';
        continue;
      }
      return res;
    }
    throw new Error('no answer after three attempts');
  }

  /** Allocate: the error code (null on success) and the relayed address and port. */
  async allocate(creds: Credentials, family: 4 | 6 = 4): Promise<{ code: number | null; relayAddress: string; relayPort: number }> {
    const attrs: Array<[number, Buffer]> = [[Attr.RequestedTransport, Buffer.from([17, 0, 0, 0])]];
    if (family === 6) attrs.push([Attr.RequestedAddressFamily, Buffer.from([2, 0, 0, 0])]);
    const res = await this.request(Method.Allocate, () => attrs, creds);
    const attr = findAttribute(res, Attr.XorRelayedAddress);
    const relayed = attr ? decodeXorAddress(res, attr) : null;
    return { code: errorCode(res), relayAddress: relayed?.address ?? '', relayPort: relayed?.port ?? -1 };
  }

  async release(creds: Credentials): Promise<number | null> {
    return errorCode(await this.request(Method.Refresh, () => [[Attr.Lifetime, Buffer.from([0, 0, 0, 0])]], creds));
  }

  async channelBind(creds: Credentials, channel: number, peerPort: number): Promise<number | null> {
    const number = Buffer.from([channel >> 8, channel & 0xff, 0, 0]);
    return errorCode(
      await this.request(Method.ChannelBind, (tid) => [[Attr.ChannelNumber, number], [Attr.XorPeerAddress, encodeXorAddress({ family: this.#family, address: this.#host, port: peerPort }, tid)]], creds),
    );
  }

  sendChannelData(channel: number, data: Buffer): void {
    const out = Buffer.alloc(4 + data.length);
    out.writeUInt16BE(channel, 0);
    out.writeUInt16BE(data.length, 2);
    data.copy(out, 4);
    this.#socket.send(out, this.#serverPort, this.#host);
  }

  close(): void {
    this.#socket.close();
  }

  #exchange(tid: Buffer, msg: Buffer): Promise<StunMessage> {
    const key = tid.toString('hex');
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiting.delete(key);
        reject(new Error('TURN request timed out'));
      }, 3000);
      this.#waiting.set(key, (m) => {
        clearTimeout(timer);
        this.#waiting.delete(key);
        resolve(m);
      });
      this.#socket.send(msg, this.#serverPort, this.#host);
    });
  }
}

export function errorCode(msg: StunMessage): number | null {
  const a = findAttribute(msg, Attr.ErrorCode);
  return a ? (decodeErrorCode(msg, a)?.code ?? null) : null;
}
