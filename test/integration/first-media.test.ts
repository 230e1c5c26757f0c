import { createSocket, type Socket } from 'node:dgram';
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { RTCPeerConnection } from 'werift';
import type { RunningServer } from '../../server/app.js';
import { closePeerConnection, createPeerConnection } from '../../sfu/peer/peer-factory.js';
import { defaultSfuOptions } from '../../sfu/sfu-options.js';
import { Bot, waitUntil } from '../helpers/bot.js';
import { startTestServer } from '../helpers/server.js';
import { SignalingClient, testToken } from '../helpers/signaling-client.js';

let server: RunningServer;
let publisher: Bot;
beforeAll(async () => {
  server = await startTestServer();
  publisher = await Bot.join(server.signalingUrl, 'first-media', 'teacher');
  await publisher.publish({ audio: false });
});
afterAll(async () => {
  await publisher?.close();
  await server?.close();
});

/** How long the path holds the client's STUN success responses to the SFU (so the SFU's ICE finishes late). */
const STUN_RESPONSE_DELAY_MS = 300;

const isStunSuccess = (d: Buffer) => d.length >= 20 && d[0] === 0x01 && d[1] === 0x01;
/** RFC 6347 §4.2.2/4.3.2: a DTLS handshake record (content type 22) carrying a ClientHello (type 1). */
const clientHelloCookieLength = (d: Buffer): number | undefined => {
  if (d.length < 13 + 12 + 35 || d[0] !== 22 || d[13] !== 1) return undefined;
  const sessionIdAt = 13 + 12 + 2 + 32;
  return d[sessionIdAt + 1 + d[sessionIdAt]];
};

/**
 * A UDP path between one client socket and the SFU: the client talks to `clientSide`, the SFU to `serverSide`.
 * STUN success responses from the client are held for STUN_RESPONSE_DELAY_MS; everything else passes at once.
 */
class SlowStunPath {
  readonly clientSide: Socket = createSocket('udp4');
  readonly serverSide: Socket = createSocket('udp4');
  client?: { address: string; port: number };
  server?: { address: string; port: number };
  /** ClientHellos the client sent without a cookie: 1 unless it had to retransmit its first. */
  cookielessClientHellos = 0;
  firstClientHelloAt?: number;
  firstDelayedResponseAt?: number;
  readonly #held = new Set<NodeJS.Timeout>();

  async start(): Promise<void> {
    await Promise.all([this.clientSide, this.serverSide].map((s) => new Promise<void>((r) => s.bind({ port: 0, address: '127.0.0.1' }, r))));
    this.clientSide.on('message', (data, from) => {
      this.client = { address: from.address, port: from.port };
      if (!this.server) return;
      const { port, address } = this.server;
      if (clientHelloCookieLength(data) === 0) {
        this.cookielessClientHellos++;
        this.firstClientHelloAt ??= performance.now();
      }
      if (isStunSuccess(data)) {
        const timer = setTimeout(() => {
          this.#held.delete(timer);
          this.firstDelayedResponseAt ??= performance.now();
          this.serverSide.send(data, port, address);
        }, STUN_RESPONSE_DELAY_MS);
        this.#held.add(timer);
      } else this.serverSide.send(data, port, address);
    });
    this.serverSide.on('message', (data, from) => {
      this.server = { address: from.address, port: from.port };
      if (this.client) this.clientSide.send(data, this.client.port, this.client.address);
    });
  }

  close(): void {
    for (const timer of this.#held) clearTimeout(timer);
    this.#held.clear();
    this.clientSide.close();
    this.serverSide.close();
  }
}

/** Replaces `from` with `to` as the port of every 127.0.0.1 candidate in an SDP or candidate line. */
const swapPort = (text: string, from: number, to: number) => text.split(` 127.0.0.1 ${from} typ`).join(` 127.0.0.1 ${to} typ`);
const candidatePort = (text: string) => Number(/ 127\.0\.0\.1 (\d+) typ host/.exec(text)?.[1]);

/** A werift subscriber whose every datagram goes through `path`; returns ms from its answer to DTLS connected. */
async function joinThrough(path: SlowStunPath, identity: string): Promise<number> {
  const signaling = await SignalingClient.connect(server.signalingUrl);
  const pc: RTCPeerConnection = createPeerConnection({ ...defaultSfuOptions, portMin: 50000, portMax: 59999 });
  const ports = { sfu: 0, client: 0 };
  const proxyClientSide = path.clientSide.address().port;
  const proxyServerSide = path.serverSide.address().port;
  let answeredAt = 0;
  let connectedAt = 0;
  pc.connectionStateChange.subscribe((state) => {
    if (state === 'connected') connectedAt ||= performance.now();
  });
  pc.onIceCandidate.subscribe((candidate) => {
    if (!candidate) return;
    const json = candidate.toJSON();
    ports.client ||= candidatePort(json.candidate);
    signaling.send({ type: 'trickle', target: 'subscriber', candidate: { ...json, candidate: swapPort(json.candidate, ports.client, proxyServerSide) } });
  });
  signaling.socket.on('message', (raw) => {
    const message = JSON.parse(raw.toString()) as { type: string; sdp?: string; target?: string; candidate?: { candidate: string } };
    void (async () => {
      if (message.type === 'subscriberOffer') {
        ports.sfu ||= candidatePort(message.sdp!);
        await pc.setRemoteDescription({ type: 'offer', sdp: swapPort(message.sdp!, ports.sfu, proxyClientSide) });
        await pc.setLocalDescription(await pc.createAnswer());
        const sdp = pc.localDescription!.sdp;
        ports.client ||= candidatePort(sdp);
        answeredAt = performance.now();
        signaling.send({ type: 'subscriberAnswer', sdp: swapPort(sdp, ports.client, proxyServerSide) });
      } else if (message.type === 'trickle' && message.target === 'subscriber') {
        const line = message.candidate!.candidate;
        ports.sfu ||= candidatePort(line);
        await pc.addIceCandidate({ ...message.candidate!, candidate: swapPort(line, ports.sfu, proxyClientSide) });
      }
    })().catch(() => undefined);
  });
  signaling.send({ type: 'join', room: 'first-media', token: await testToken({ room: 'first-media', identity, grants: { canPublish: false } }) });
  try {
    await waitUntil(() => connectedAt > 0, 10_000, `${identity} connected`);
    return connectedAt - answeredAt;
  } finally {
    signaling.close();
    await closePeerConnection(pc);
  }
}

test('a ClientHello that reaches the SFU before its ICE checks finish is answered, not dropped and retransmitted', async () => {
  for (let join = 0; join < 3; join++) {
    const path = new SlowStunPath();
    await path.start();
    try {
      const connectMs = await joinThrough(path, `student-${join}`);
      // The race happened: the client's DTLS began while the SFU still waited for its STUN responses.
      expect(path.firstClientHelloAt).toBeDefined();
      expect(path.firstClientHelloAt!).toBeLessThan(path.firstDelayedResponseAt!);
      // werift's client resends an unanswered ClientHello after 500 ms (OpenSSL's after 1 s); it never had to.
      expect(path.cookielessClientHellos).toBe(1);
      // STUN_RESPONSE_DELAY_MS plus the handshake, not plus a retransmission timeout.
      expect(connectMs).toBeLessThan(STUN_RESPONSE_DELAY_MS + 400);
    } finally {
      path.close();
    }
  }
});
