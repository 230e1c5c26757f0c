/**
 * The server's cost of a subscriber connection in a full room, without sockets or bots' timing in the way: the
 * SFU's SubscriberPeer (its own SDP for audio and video m-lines, werift's for the data channels) grows by one
 * publisher (camera and microphone) per round, and a werift peer answers each offer. Prints CPU medians per round
 * at the final size: the server's offer (runNegotiation) and answer (handleAnswer), and the client's work; then a
 * joiner's first offer with every m-line at once, and closing that connection.
 *
 *   npx tsx bench/lib/full-room-renegotiation.ts [publishers=100] [rounds=20]
 *
 * Run with `node --cpu-prof --import tsx` to profile only this.
 */
import '../../sfu/peer/werift-speedups.js';
import { handDrivenSubscriber } from '../../test/helpers/hand-driven-subscriber.js';
import { Registry } from 'prom-client';
import type { RTCPeerConnection, RTCRtpReceiver } from 'werift';
import { PublishedTrack } from '../../sfu/media/published-track.js';
import { sfuCodecs } from '../../sfu/peer/media-capabilities.js';
import { createPeerConnection } from '../../sfu/peer/peer-factory.js';
import { DATA_CHANNELS, SubscriberPeer, type SubscriberOffer } from '../../sfu/peer/subscriber-peer.js';
import { createSfuMetrics } from '../../sfu/sfu-metrics.js';
import { defaultSfuOptions } from '../../sfu/sfu-options.js';

const publishers = Number(process.argv[2] ?? 100);
const rounds = Number(process.argv[3] ?? 20);
const options = { ...defaultSfuOptions, portMin: 41000, portMax: 41999 };
const none = () => 0;
const metrics = createSfuMetrics(new Registry(), { rooms: none, participants: none, publishedTracks: none, subscribedTracks: none, peerConnections: none });

interface Pair {
  server: SubscriberPeer;
  client: RTCPeerConnection;
  offers: SubscriberOffer[];
}
function connectionPair(): Pair {
  const { peer: server, offers } = handDrivenSubscriber(options, metrics);
  const client = createPeerConnection(options);
  for (const [label, init] of Object.entries(DATA_CHANNELS)) client.createDataChannel(label, { negotiated: true, ...init });
  return { server, client, offers };
}

const receiver = { onRtcp: { subscribe: () => ({ unSubscribe: () => undefined }) } } as unknown as RTCRtpReceiver;
const tracks = new Map<number, PublishedTrack[]>();
/** Publisher `i`'s camera and microphone (made once, shared by both connections as in a room). */
function publisher(i: number): PublishedTrack[] {
  let made = tracks.get(i);
  if (!made) {
    made = (['video', 'audio'] as const).map(
      (kind) =>
        new PublishedTrack({
          id: `TR_${kind}_${i}`,
          kind,
          source: kind === 'video' ? 'camera' : 'microphone',
          mid: kind === 'video' ? '0' : '1',
          codec: sfuCodecs()[kind][0],
          publisherIdentity: `publisher ${i}`,
          receiver,
          extensions: {},
          packetCacheSize: 64,
          pliMinIntervalMs: 500,
          metrics,
        }),
    );
    tracks.set(i, made);
  }
  return made;
}
const addPublisher = (pair: Pair, i: number) => {
  for (const track of publisher(i)) pair.server.addTrack(track, `PA_${i}`);
};

/** CPU time (user + system, ms): this machine is shared, wall time would count other processes' turns. */
const cpuMs = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
};
async function timed<T>(work: () => Promise<T> | T): Promise<[T, number]> {
  const t = cpuMs();
  const result = await work();
  return [result, cpuMs() - t];
}
const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

interface Round {
  offerMs: number;
  answerMs: number;
  clientMs: number;
  sdpBytes: number;
}
async function round(pair: Pair): Promise<Round> {
  // Subscriptions beyond one turn's budget are made in later turns (SubscriberPeer.addTrack).
  while (pair.server.subscriptionCount > pair.server.downTracks.size) await nextTurn();
  const [, offerMs] = await timed(() => pair.server.runNegotiation());
  const { sdp } = pair.offers.at(-1)!;
  const [answer, clientMs] = await timed(async () => {
    await pair.client.setRemoteDescription({ type: 'offer', sdp });
    await pair.client.setLocalDescription(await pair.client.createAnswer());
    return pair.client.localDescription!.sdp;
  });
  const [, answerMs] = await timed(() => pair.server.handleAnswer(answer));
  return { offerMs, answerMs, clientMs, sdpBytes: sdp.length };
}

const growing = connectionPair();
for (let i = 0; i < publishers - 1 - rounds; i++) addPublisher(growing, i);
await round(growing);
const results: Round[] = [];
for (let i = 0; i < rounds; i++) {
  addPublisher(growing, publishers - 1 - rounds + i);
  results.push(await round(growing));
}

// A publisher leaves: its two tracks removed from the full connection (a room does this for every subscriber).
const [, leaveMs] = await timed(() => {
  for (const track of publisher(0)) growing.server.removeTrack(track.id);
});

// A joiner: every m-line in its first offer (what a student joining a full room gets).
const joiner = connectionPair();
for (let i = 0; i < publishers - 1; i++) addPublisher(joiner, i);
const first = await round(joiner);
const [, closeMs] = await timed(() => joiner.server.close());

/** Medians: the machine is shared, and a round that lost its core to another process says nothing of the code. */
const median = (f: (r: Round) => number) => results.map(f).sort((a, b) => a - b)[results.length >> 1].toFixed(2);
console.log(`m_lines: ${growing.server.mediaLineCount + 1}`);
console.log(`offer_sdp_bytes: ${results.at(-1)!.sdpBytes}`);
console.log(`server_offer_ms: ${median((r) => r.offerMs)}`);
console.log(`server_answer_ms: ${median((r) => r.answerMs)}`);
console.log(`server_total_ms: ${median((r) => r.offerMs + r.answerMs)}`);
console.log(`client_answer_ms: ${median((r) => r.clientMs)}`);
console.log(`first_offer_server_ms: ${(first.offerMs + first.answerMs).toFixed(1)}`);
console.log(`leave_ms: ${leaveMs.toFixed(2)}`);
console.log(`close_ms: ${closeMs.toFixed(1)}`);
growing.server.close();
await Promise.all([growing.client.close(), joiner.client.close()]);
process.exit(0);
