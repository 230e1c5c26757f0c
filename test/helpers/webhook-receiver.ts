import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { verifyWebhook } from '../../webhooks/index.js';

export interface ReceivedWebhook {
  body: string;
  event: { event: string; id: string; createdAt: number; nodeId: string; room: { name: string; sid: string }; participant?: { identity: string; sid: string; name?: string }; track?: { sid: string; kind: string; source: string }; reason?: string };
  signature: string | undefined;
  key: string | undefined;
  /** Whether the signature verified under the receiver's secret. */
  verified: boolean;
  receivedAt: number;
}

/** How the receiver answers: a status code, or 'hang' (never answers). */
export type ReceiverMode = number | 'hang';

/**
 * A real HTTP receiver on 127.0.0.1 that verifies each request's signature, records the 2xx-answered
 * ones (`delivered`) and every request (`requests`). It can be stopped (connection refused) and started
 * again on the same port.
 */
export class WebhookReceiver {
  readonly delivered: ReceivedWebhook[] = [];
  readonly requests: ReceivedWebhook[] = [];
  mode: ReceiverMode = 200;
  port = 0;
  #server: Server | undefined;
  readonly #sockets = new Set<Socket>();
  readonly #secret: string;

  constructor(secret: string) {
    this.#secret = secret;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/hooks`;
  }

  async start(): Promise<this> {
    const server = createServer((req, res) => void this.#handle(req, res));
    server.on('connection', (socket) => {
      this.#sockets.add(socket);
      socket.once('close', () => this.#sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as AddressInfo).port;
    this.#server = server;
    return this;
  }

  /** Closes the listener and every connection: further requests are refused. */
  async stop(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    if (!server) return;
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    const signature = req.headers['x-tsfu-signature'] as string | undefined;
    const received: ReceivedWebhook = {
      body,
      event: JSON.parse(body) as ReceivedWebhook['event'],
      signature,
      key: req.headers['x-tsfu-key'] as string | undefined,
      verified: verifyWebhook(body, signature, this.#secret, 60),
      receivedAt: Date.now(),
    };
    this.requests.push(received);
    const mode = this.mode;
    if (mode === 'hang') return;
    if (mode >= 200 && mode < 300) this.delivered.push(received);
    res.writeHead(mode, { 'content-type': 'text/plain' }).end(String(mode));
  }
}
