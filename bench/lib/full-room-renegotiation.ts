/**
 * The server's cost of one subscriber renegotiation in a full room, without sockets or bots' timing in the way:
 * a subscriber connection made as the SFU makes it (sfu/peer-factory.ts, werift speed-ups, two data channels,
 * sendonly m-lines with one codec each) grows by one publisher (camera and microphone) per round, and a werift
 * peer answers each offer. Prints the server side's createOffer + setLocalDescription, and
 * setRemoteDescription(answer), per round at the final size.
 *
 *   npx tsx bench/lib/full-room-renegotiation.ts [publishers=100] [rounds=20]
 *
 * Run with `node --cpu-prof --import tsx` to profile only this.
 */
import '../../sfu/werift-speedups.js';
import type { RTCRtpTransceiver } from 'werift';
import { sfuCodecs } from '../../sfu/media-capabilities.js';
import { createPeerConnection } from '../../sfu/peer-factory.js';
import { defaultSfuOptions } from '../../sfu/sfu-options.js';
import { DATA_CHANNELS, subscriberHeaderExtensions } from '../../sfu/subscriber-peer.js';

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

async function round(): Promise<{ offerMs: number; answerMs: number; clientMs: number; sdpBytes: number }> {
  let t = performance.now();
  await server.setLocalDescription(await server.createOffer());
  const offerMs = performance.now() - t;
  const sdp = server.localDescription!.sdp;
  t = performance.now();
  await client.setRemoteDescription({ type: 'offer', sdp });
  await client.setLocalDescription(await client.createAnswer());
  const clientMs = performance.now() - t;
  t = performance.now();
  await server.setRemoteDescription({ type: 'answer', sdp: client.localDescription!.sdp });
  return { offerMs, answerMs: performance.now() - t, clientMs, sdpBytes: sdp.length };
}

for (let i = 0; i < publishers - 1 - rounds; i++) addPublisher(i);
await round();
const results = [];
for (let i = 0; i < rounds; i++) {
  addPublisher(publishers + i);
  results.push(await round());
}
const mean = (f: (r: (typeof results)[number]) => number) => (results.reduce((s, r) => s + f(r), 0) / results.length).toFixed(1);
console.log(`m_lines: ${server.getTransceivers().length + 1}`);
console.log(`offer_sdp_bytes: ${results.at(-1)!.sdpBytes}`);
console.log(`server_offer_ms: ${mean((r) => r.offerMs)}`);
console.log(`server_answer_ms: ${mean((r) => r.answerMs)}`);
console.log(`server_total_ms: ${mean((r) => r.offerMs + r.answerMs)}`);
console.log(`client_answer_ms: ${mean((r) => r.clientMs)}`);
await Promise.all([server.close(), client.close()]);
process.exit(0);
