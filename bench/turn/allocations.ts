// Allocates as many relays as asked from one UDP client socket per allocation (one 5-tuple each),
// keeping a bounded number of transactions in flight, and holds them until close().
import dgram from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { MessageBuilder } from '../../turn/stun/builder.js';
import { Attr, StunClass, messageType, Method } from '../../turn/stun/constants.js';
import { decodeText } from '../../turn/stun/attributes.js';
import { longTermKey } from '../../turn/stun/integrity.js';
import { decodeStunMessage, findAttribute } from '../../turn/stun/message.js';

const IN_FLIGHT = 200;

export interface Held {
  readonly count: number;
  close(): void;
}

function allocate(nonce: string | null, creds: { user: string; password: string; realm: string }): Buffer {
  const b = new MessageBuilder(messageType(Method.Allocate, StunClass.Request), randomBytes(12));
  b.add(Attr.RequestedTransport, Buffer.from([17, 0, 0, 0]));
  b.add(Attr.Lifetime, Buffer.from([0, 0, 0x0e, 0x10]));
  if (nonce === null) return b.finish({ fingerprint: true });
  b.addText(Attr.Username, creds.user).addText(Attr.Realm, creds.realm).addText(Attr.Nonce, nonce);
  return b.finish({ integrityKey: longTermKey(creds.user, creds.realm, creds.password), fingerprint: true });
}

/** One socket, one Allocate dance (401 then signed request); resolves true on success. */
function one(socket: dgram.Socket, port: number, creds: { user: string; password: string; realm: string }): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), 5000);
    socket.on('message', (msg) => {
      const m = decodeStunMessage(msg);
      if (!m) return;
      if (m.cls === StunClass.SuccessResponse) {
        clearTimeout(timer);
        resolve(true);
        return;
      }
      const nonce = findAttribute(m, Attr.Nonce);
      if (nonce) socket.send(allocate(decodeText(m, nonce, 763), creds), port, '127.0.0.1');
      else {
        clearTimeout(timer);
        resolve(false);
      }
    });
    socket.send(allocate(null, creds), port, '127.0.0.1');
  });
}

export async function holdAllocations(port: number, target: number, creds: { user: string; password: string; realm: string }, budgetMs: number): Promise<Held> {
  const sockets: dgram.Socket[] = [];
  const deadline = Date.now() + budgetMs;
  let count = 0;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < target && Date.now() < deadline) {
      next++;
      const s = dgram.createSocket('udp4');
      sockets.push(s);
      await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
      if (await one(s, port, creds)) count++;
      s.removeAllListeners('message');
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  return {
    count,
    close() {
      for (const s of sockets) s.close();
    },
  };
}
