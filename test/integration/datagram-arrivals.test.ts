import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { performance } from 'node:perf_hooks';
import { afterEach, expect, test } from 'vitest';
import { datagramArrivalUs, stampDatagramsOnRead } from '../../sfu/peer/datagram-arrivals.js';

const sockets: Socket[] = [];
afterEach(() => {
  for (const socket of sockets.splice(0)) socket.close();
});

async function boundSocket(): Promise<Socket> {
  const socket = createSocket('udp4');
  sockets.push(socket);
  socket.bind(0, '127.0.0.1');
  await once(socket, 'listening');
  return socket;
}

function busyWait(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

test('datagrams read together are all stamped before any is processed, and each is processed with its own stamp, in order', async () => {
  const receiver = await boundSocket();
  const sender = await boundSocket();
  const count = 20;
  const seen: { index: number; stampUs: number; startUs: number }[] = [];
  let resolveDone: () => void;
  const done = new Promise<void>((resolve) => (resolveDone = resolve));
  // Stands for werift's listener: forwarding each packet takes 3 ms, and the third one throws.
  receiver.on('message', (data: Buffer) => {
    const index = data.readUInt8(0);
    seen.push({ index, stampUs: datagramArrivalUs(), startUs: performance.now() * 1000 });
    busyWait(3);
    if (index === count - 1) resolveDone();
    if (index === 2) throw new Error('a listener that throws');
  });
  stampDatagramsOnRead(receiver);
  // Sent in one synchronous block: all are waiting in the receiver's buffer when its next read happens.
  for (let i = 0; i < count; i++) sender.send(Buffer.from([i]), receiver.address().port, '127.0.0.1');
  await done;
  expect(seen.map((s) => s.index)).toEqual([...Array(count).keys()]);
  const firstStart = seen[0].startUs;
  for (const s of seen) expect(s.stampUs).toBeLessThanOrEqual(firstStart);
  // Without the stamps the last packet's arrival would include the 19 x 3 ms spent on those before it.
  expect(seen[count - 1].startUs - seen[count - 1].stampUs).toBeGreaterThan(19 * 3000);
  // Outside processing it is the current time.
  const before = performance.now() * 1000;
  expect(datagramArrivalUs()).toBeGreaterThanOrEqual(before);
});
