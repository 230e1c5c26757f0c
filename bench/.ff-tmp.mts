import { startTestServer } from '/work/main/test/helpers/server.js';
import { Bot, waitUntil } from '/work/main/test/helpers/bot.js';
import { FirstFrameSubscriber } from '/work/main/bench/lib/first-frame-subscriber.js';
const server = await startTestServer({ log: { level: 'info' } } as never);
const bot = await Bot.join(server.signalingUrl, 'r', 'p');
await bot.publish({audio: false});
let fails = 0; const times: number[] = [];
for (let i = 0; i < 12; i++) {
  const s = await FirstFrameSubscriber.join(server.signalingUrl, 'r', 's' + i);
  try { await waitUntil(() => s.timeline.firstFrame !== undefined, 5000, 'ff'); times.push(Math.round(s.timeline.firstFrame!)); } catch { fails++; console.log('FAIL', JSON.stringify(s.timeline), JSON.stringify(s.signaling.messages.map(m => m.type))); }
  await s.close();
  await new Promise(r => setTimeout(r, 200));
}
console.log('fails', fails, times.join(','));
await bot.close(); await server.close(); process.exit(0);
