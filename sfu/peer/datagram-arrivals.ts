import type { RemoteInfo, Socket } from 'node:dgram';
import { performance } from 'node:perf_hooks';

type MessageListener = (data: Buffer, info: RemoteInfo) => void;

/*
 * Node reads a socket's waiting datagrams in one go and runs each one's 'message' listeners before it reads the
 * next, so the feedback's arrival time of the 20th packet of a read included forwarding the 19 before it to every
 * subscriber: a busy server looked like a growing queue to the publishers' estimators (docs/BANDWIDTH.md). Here
 * every datagram of a turn of the event loop is stamped as it is read, and all are processed right after the reads
 * (setImmediate runs just after the poll phase), each with its stamp available through datagramArrivalUs().
 */
const listeners: MessageListener[] = [];
const datagrams: Buffer[] = [];
const senders: RemoteInfo[] = [];
const stampsUs: number[] = [];
let scheduled = false;
/** The read time of the datagram being processed, -1 outside processing. */
let currentUs = -1;

/** Microseconds on performance.now()'s clock: when the datagram being processed was read, else now. */
export function datagramArrivalUs(): number {
  return currentUs >= 0 ? currentUs : performance.now() * 1000;
}

/** Makes `socket`'s current 'message' listeners (werift's) run deferred, each datagram stamped when read. */
export function stampDatagramsOnRead(socket: Socket): void {
  const own = socket.listeners('message') as MessageListener[];
  if (own.length === 0) return;
  socket.removeAllListeners('message');
  const deliver: MessageListener = own.length === 1 ? own[0] : (data, info) => own.forEach((listener) => listener(data, info));
  socket.on('message', (data: Buffer, info: RemoteInfo) => {
    listeners.push(deliver);
    datagrams.push(data);
    senders.push(info);
    stampsUs.push(performance.now() * 1000);
    if (scheduled) return;
    scheduled = true;
    setImmediate(processRead);
  });
}

function processRead(): void {
  scheduled = false;
  // Nothing is read while this runs (it is synchronous), so the queue holds exactly the last reads.
  const count = listeners.length;
  try {
    for (let i = 0; i < count; i++) {
      currentUs = stampsUs[i];
      try {
        listeners[i](datagrams[i], senders[i]);
      } catch {
        // werift's listener catches its own errors; a throw here must not lose the other datagrams of the read
      }
    }
  } finally {
    currentUs = -1;
    listeners.length = 0;
    datagrams.length = 0;
    senders.length = 0;
    stampsUs.length = 0;
  }
}
