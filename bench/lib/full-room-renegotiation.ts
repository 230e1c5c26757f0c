/**
 * The server's cost of one subscriber renegotiation in a full room, without sockets or bots' timing in the way:
 * a subscriber connection made as the SFU makes it (sfu/peer/peer-factory.ts, werift speed-ups, two data channels,
 * sendonly m-lines with one codec each) grows by one publisher (camera and microphone) per round, and a werift
 * peer answers each offer. Prints the CPU time of the server side's createOffer + setLocalDescription (and
 * reading the offer back), and setRemoteDescription(answer), per round at the final size, and the client's.
 *
 *   npx tsx bench/lib/full-room-renegotiation.ts [publishers=100] [rounds=20]
 *
 * Run with `node --cpu-prof --import tsx` to profile only this.
 */
import { memoizeSdpSections } from './sdp-section-memo.js';
import type { RTCRtpTransceiver } from 'werift';
import { sfuCodecs, subscriberHeaderExtensions } from '../../sfu/peer/media-capabilities.js';
import { createPeerConnection } from '../../sfu/peer/peer-factory.js';
import { defaultSfuOptions } from '../../sfu/sfu-options.js';
import { DATA_CHANNELS } from '../../sfu/peer/subscriber-peer.js';

// TSFU_BENCH_SDP_MEMO=1: with the per-connection m-section memo (sdp-section-memo.ts) (both sides).
if (process.env.TSFU_BENCH_SDP_MEMO === '1') memoizeSdpSections();
const publishers = Number(process.argv[2] ?? 100);
const rounds = Number(process.argv[3] ?? 20);
const options = { ...defaultSfuOptions, portMin: 41000, portMax: 41999 };
const server = createPeerConnection(options, { headerExtensions: subscriberHeaderExtensions() });
const client = createPeerConnection(options);
for (const [label, init] of Object.entries(DATA_CHANNELS)) {
  server.createDataChannel(label, { negotiated: true, ...init });
  client.createDataChannel(label, { negotiated: true, ...init });
}
const codecs = sfuCodecs();
const prefer = (t: RTCRtpTransceiver, kind: 'audio' | 'video') => t.setCodecPreferences([codecs[kind][0]]);
const addPublisher = (i: number) => {
  for (const kind of ['video', 'audio'] as const) {
    const t = server.addTransceiver(kind, { direction: 'sendonly' });
    t.sender.streamId = `stream-${i}`;
    prefer(t, kind);
  }
};

/** CPU time (user + system, ms): this machine is shared, wall time would count other processes' turns. */
const cpuMs = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
};

async function round(): Promise<{ offerMs: number; answerMs: number; clientMs: number; sdpBytes: number }> {
  let t = cpuMs();
  await server.setLocalDescription(await server.createOffer());
  const sdp = server.localDescription!.sdp; // as SubscriberPeer reads it
  const offerMs = cpuMs() - t;
  t = cpuMs();
  await client.setRemoteDescription({ type: 'offer', sdp });
  await client.setLocalDescription(await client.createAnswer());
  const answer = client.localDescription!.sdp;
  const clientMs = cpuMs() - t;
  t = cpuMs();
  await server.setRemoteDescription({ type: 'answer', sdp: answer });
  return { offerMs, answerMs: cpuMs() - t, clientMs, sdpBytes: sdp.length };
}

for (let i = 0; i < publishers - 1 - rounds; i++) addPublisher(i);
await round();
const results: Awaited<ReturnType<typeof round>>[] = [];
for (let i = 0; i < rounds; i++) {
  addPublisher(publishers + i);
  results.push(await round());
}
/** Medians: the machine is shared, and a round that lost its core to another process says nothing of werift. */
const mean = (f: (r: (typeof results)[number]) => number) => results.map(f).sort((a, b) => a - b)[results.length >> 1].toFixed(1);
console.log(`m_lines: ${server.getTransceivers().length + 1}`);
console.log(`offer_sdp_bytes: ${results.at(-1)!.sdpBytes}`);
console.log(`server_offer_ms: ${mean((r) => r.offerMs)}`);
console.log(`server_answer_ms: ${mean((r) => r.answerMs)}`);
console.log(`server_total_ms: ${mean((r) => r.offerMs + r.answerMs)}`);
console.log(`client_answer_ms: ${mean((r) => r.clientMs)}`);
await Promise.all([server.close(), client.close()]);
process.exit(0);
