/**
 * The publishing bot in a process of its own, so its 30 fps / 50 pps timers keep time however busy the
 * receiving bots are. Started by bench/lib/publisher-handle.ts with `fork` and the signaling URL as argv[2];
 * sends `{ type: 'ready' }` once publishing, answers `{ type: 'count' }` with the RTP packets its werift
 * senders have sent, and closes on `{ type: 'stop' }`.
 */
import { Bot } from '../../test/helpers/bot.js';

export type PublisherRequest = { type: 'count' } | { type: 'stop' };
export type PublisherReply = { type: 'ready'; trackIds: string[] } | { type: 'count'; packets: number };

const send = (message: PublisherReply) => process.send?.(message);
const [url, room, identity] = process.argv.slice(2);

const bot = await Bot.join(url, room, identity);
const trackIds = await bot.publish({ videoKbps: 1000 });
send({ type: 'ready', trackIds });

/** werift keeps an RTCRtpSender's packet count private; read it for the publisher's send rate. */
function sentPackets(): number {
  let total = 0;
  for (const sender of bot.publisher?.getSenders() ?? []) total += (sender as unknown as { packetCount?: number }).packetCount ?? 0;
  return total;
}

let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  void bot.close().finally(() => process.exit(0));
};
process.on('message', (message: PublisherRequest) => {
  if (message.type === 'count') send({ type: 'count', packets: sentPackets() });
  else stop();
});
process.on('disconnect', stop);
