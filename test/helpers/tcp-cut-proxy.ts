import net from 'node:net';

/**
 * A TCP proxy on 127.0.0.1 in front of one port, whose connections the test can cut as a Wi-Fi drop does:
 * `reset` ends every connection with a RST and refuses new ones for a while (the client sees its socket drop);
 * `stall` holds every byte both ways for a while and then delivers them, as TCP does when it retransmits after an
 * outage: nothing closes and nothing arrives meanwhile, on connections opened meanwhile too.
 */
export class TcpCutProxy {
  readonly #server: net.Server;
  readonly #pairs = new Set<[net.Socket, net.Socket]>();
  #refuseUntil = 0;
  #stallUntil = 0;
  #stallTimer?: NodeJS.Timeout;
  /** Bytes held during a stall, in order, each with where it goes. */
  readonly #held: [net.Socket, Buffer][] = [];

  private constructor(server: net.Server) {
    this.#server = server;
  }

  static async start(targetPort: number): Promise<TcpCutProxy> {
    let proxy!: TcpCutProxy;
    const server = net.createServer((client) => proxy.#accept(client, targetPort));
    proxy = new TcpCutProxy(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  get port(): number {
    return (this.#server.address() as net.AddressInfo).port;
  }

  /** Resets every connection now and refuses (resets) new ones for `ms`. */
  reset(ms: number): void {
    this.#refuseUntil = performance.now() + ms;
    for (const [client, upstream] of this.#pairs) {
      client.resetAndDestroy();
      upstream.destroy();
    }
  }

  /** Holds every byte both ways for `ms`, then delivers them; connections stay open. */
  stall(ms: number): void {
    this.#stallUntil = performance.now() + ms;
    clearTimeout(this.#stallTimer);
    this.#stallTimer = setTimeout(() => {
      for (const [to, chunk] of this.#held.splice(0)) if (!to.destroyed) to.write(chunk);
    }, ms);
  }

  async close(): Promise<void> {
    clearTimeout(this.#stallTimer);
    for (const [client, upstream] of this.#pairs) {
      client.destroy();
      upstream.destroy();
    }
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #accept(client: net.Socket, targetPort: number): void {
    client.on('error', () => undefined);
    if (performance.now() < this.#refuseUntil) {
      client.resetAndDestroy();
      return;
    }
    const upstream = net.connect(targetPort, '127.0.0.1');
    upstream.on('error', () => client.destroy());
    const pair: [net.Socket, net.Socket] = [client, upstream];
    this.#pairs.add(pair);
    const forward = (from: net.Socket, to: net.Socket) =>
      from.on('data', (chunk) => {
        if (performance.now() < this.#stallUntil || this.#held.length > 0) this.#held.push([to, chunk]);
        else if (!to.destroyed) to.write(chunk);
      });
    forward(client, upstream);
    forward(upstream, client);
    const end = () => {
      this.#pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('close', end);
    upstream.on('close', end);
  }
}
