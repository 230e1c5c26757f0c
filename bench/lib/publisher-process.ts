/**
 * The publishing bot in a process of its own, so its 30 fps / 50 pps timers keep time however busy the
 * receiving bots are. Started by bench/lib/publisher-handle.ts with `fork` and the signaling URL as argv[2];
 * sends `{ type: 'ready' }` once publishing, answers `{ type: 'count' }` with the RTP packets its werift
 * senders have sent, and closes on `{ type: 'stop' }`.
 */
import { Bot } from '../../test/helpers/bot.js';
import { SimulcastPublisher } from '../../test/helpers/simulcast-publisher.js';

export type PublisherRequest = { type: 'count' } | { type: 'stop' };
export type PublisherReply = { type: 'ready'; trackIds: string[] } | { type: 'count'; packets: number };

const send = (message: PublisherReply) => process.send?.(message);
const [url, room, identity] = process.argv.slice(2);

// BENCH_SIMULCAST=1: one simulcast camera as Chromium sends it (three layers of 1, 2 and 4 packets a frame at 30 fps,
// ~0.25, 0.5 and 1 Mbit/s), no microphone; subscribers get the top layer.
const simulcast = process.env.BENCH_SIMULCAST === '1' ? await SimulcastPublisher.join(url, room, identity, { packetsPerFrame: [1, 2, 4], payloadBytes: 1000 }) : undefined;
const bot = simulcast?.bot ?? (await Bot.join(url, room, identity));
const trackIds = simulcast ? simulcast.trackIds : await bot.publish({ videoKbps: 1000 });
send({ type: 'ready', trackIds });

/** werift keeps an RTCRtpSender's packet count private; read it for the publisher's send rate. */
function sentPackets(): number {
  if (simulcast) return simulcast.layers.reduce((sum, layer) => sum + layer.packetsSent, 0);
  let total = 0;
  for (const sender of bot.publisher?.getSenders() ?? []) total += (sender as unknown as { packetCount?: number }).packetCount ?? 0;
  return total;
}

let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  void (simulcast ?? bot).close().finally(() => process.exit(0));
};
process.on('message', (message: PublisherRequest) => {
  if (message.type === 'count') send({ type: 'count', packets: sentPackets() });
  else stop();
});
process.on('disconnect', stop);
