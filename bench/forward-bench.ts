/**
 * Forwarding benchmark (`npm run bench`): one publisher sending synthetic VP8 (~1 Mbps) and Opus, then 1, 10
 * and 40 subscribers. Reports the server's CPU time per forwarded RTP packet (the server runs in its own
 * process, bench/lib/server-process.ts), join time (WebSocket open → first RTP) and data-message latency
 * through the SFU. Everything runs on 127.0.0.1; the whole run takes about 1.5 minutes.
 *
 * Environment: BENCH_CPU_PROF=<dir> profiles the server process (`node --cpu-prof`); BENCH_STAGES=1,10,40
 * picks the subscriber counts; BENCH_NO_DOC=1 leaves docs/BENCHMARKS.md alone; BENCH_LIGHT_RECEIVERS=1 makes all
 * subscribers but the first count SRTP datagrams without decrypting them (bench/lib/bench-subscriber.ts);
 * BENCH_SIMULCAST=1 makes the publisher a simulcast camera (three layers, ~1.75 Mbit/s in all, no microphone).
 */
import { fileURLToPath } from 'node:url';
import { Bot, waitUntil } from '../test/helpers/bot.js';
import { BenchSubscriber } from './lib/bench-subscriber.js';
import { machine, writeResults } from './lib/report.js';
import { PublisherHandle, ServerHandle } from './lib/handles.js';
import { FORWARDED_PACKETS } from './lib/server-process.js';
import { median, percentile, round, sleep } from './lib/stats.js';

const ROOM = 'bench';
const STAGES = (process.env.BENCH_STAGES ?? '1,10,40').split(',').map(Number);
const LIGHT_RECEIVERS = process.env.BENCH_LIGHT_RECEIVERS === '1';
const SAMPLES = 5;
const SAMPLE_MS = 2000;
const SETTLE_MS = 3000;
const DATA_MESSAGES = 200;
const DATA_INTERVAL_MS = 10;
const COUNTERS = [FORWARDED_PACKETS, 'tsfu_sfu_nacks_received_total', 'tsfu_sfu_retransmitted_packets_total'] as const;
const DOC = fileURLToPath(new URL('../docs/BENCHMARKS.md', import.meta.url));

interface StageResult {
  subscribers: number;
  usPerPacket: number;
  usPerPacketMin: number;
  usPerPacketMax: number;
  packetsPerSecond: number;
  serverCpuPercent: number;
  benchCpuPercent: number;
  scrapedPackets: number;
  nacksPerSecond: number;
  retransmittedPerSecond: number;
  /** Median over subscribers of RTP packets received per second. */
  receivedPerSubscriber: number;
  /** RTP packets per second the publisher's werift senders sent (all tracks). */
  publishedPerSecond: number;
}


async function measureStage(server: ServerHandle, publisher: PublisherHandle, subscribers: BenchSubscriber[]): Promise<StageResult> {
  await sleep(SETTLE_MS);
  const scrapedBefore = await server.scrapeCounters(COUNTERS);
  const benchBefore = process.cpuUsage();
  const countsBefore = subscribers.map((s) => s.rtpPackets);
  const publishedBefore = await publisher.sentPackets();
  const samples = [await server.sample()];
  const started = performance.now();
  for (let i = 0; i < SAMPLES; i++) {
    await sleep(SAMPLE_MS);
    samples.push(await server.sample());
  }
  const elapsed = (performance.now() - started) / 1000;
  const bench = process.cpuUsage(benchBefore);
  const scrapedAfter = await server.scrapeCounters(COUNTERS);
  const scraped = (name: (typeof COUNTERS)[number]) => scrapedAfter[name] - scrapedBefore[name];
  const perSample: number[] = [];
  for (let i = 1; i < samples.length; i++) {
    const packets = samples[i].forwardedPackets - samples[i - 1].forwardedPackets;
    perSample.push(((samples[i].cpuSeconds - samples[i - 1].cpuSeconds) * 1e6) / packets);
  }
  const first = samples[0];
  const last = samples[samples.length - 1];
  const received = subscribers.map((s, i) => s.rtpPackets - countsBefore[i]);
  return {
    subscribers: subscribers.length,
    usPerPacket: median(perSample),
    usPerPacketMin: Math.min(...perSample),
    usPerPacketMax: Math.max(...perSample),
    packetsPerSecond: (last.forwardedPackets - first.forwardedPackets) / elapsed,
    serverCpuPercent: ((last.cpuSeconds - first.cpuSeconds) / elapsed) * 100,
    benchCpuPercent: ((bench.user + bench.system) / 1e6 / elapsed) * 100,
    scrapedPackets: scraped(FORWARDED_PACKETS),
    nacksPerSecond: scraped('tsfu_sfu_nacks_received_total') / elapsed,
    retransmittedPerSecond: scraped('tsfu_sfu_retransmitted_packets_total') / elapsed,
    receivedPerSubscriber: median(received) / elapsed,
    publishedPerSecond: ((await publisher.sentPackets()) - publishedBefore) / elapsed,
  };
}

async function measureDataLatency(sender: Bot, receiver: BenchSubscriber): Promise<number[]> {
  await Promise.all([sender.dataReady(), receiver.dataReady()]);
  const sentAt: number[] = [];
  const before = receiver.data.length;
  for (let i = 0; i < DATA_MESSAGES; i++) {
    sentAt.push(performance.now());
    sender.sendData(`lat:${i}`);
    await sleep(DATA_INTERVAL_MS);
  }
  await waitUntil(() => receiver.data.length - before >= DATA_MESSAGES, 10_000, 'data messages');
  const latencies: number[] = [];
  for (const message of receiver.data.slice(before)) {
    const index = Number(message.text.slice(4));
    if (message.text.startsWith('lat:') && sentAt[index] !== undefined) latencies.push(message.receivedAt - sentAt[index]);
  }
  return latencies;
}

async function main(): Promise<void> {
  const runStarted = performance.now();
  const server = await ServerHandle.start({ cpuProfileDir: process.env.BENCH_CPU_PROF });
  const subscribers: BenchSubscriber[] = [];
  let publisher: PublisherHandle | undefined;
  let talker: Bot | undefined;
  try {
    publisher = await PublisherHandle.start(server.signalingUrl, ROOM, 'publisher');
    // Sends the data messages; it subscribes to nothing, so it adds no forwarded packets.
    talker = await Bot.join(server.signalingUrl, ROOM, 'talker', { canSubscribe: false, canPublish: false });
    const stages: StageResult[] = [];
    let dataLatencies: number[] = [];
    for (const target of STAGES) {
      while (subscribers.length < target) {
        // Full werift receivers decrypt, send receiver reports, NACKs and transport-cc feedback like a browser.
        const subscriber = await BenchSubscriber.join(server.signalingUrl, ROOM, `sub-${subscribers.length}`, !LIGHT_RECEIVERS || subscribers.length === 0);
        subscribers.push(subscriber);
        await waitUntil(() => subscriber.firstRtpAt !== undefined, 20_000, `first RTP at ${subscriber.identity}`);
      }
      const stage = await measureStage(server, publisher, subscribers);
      stages.push(stage);
      console.log(
        `${target} subscriber(s): ${round(stage.usPerPacket)} µs/packet (samples ${round(stage.usPerPacketMin)}–${round(stage.usPerPacketMax)}), ` +
          `${Math.round(stage.packetsPerSecond)} packets/s forwarded (/metrics: ${stage.scrapedPackets} in the window), ` +
          `published ${Math.round(stage.publishedPerSecond)}/s, NACKs ${Math.round(stage.nacksPerSecond)}/s, retransmitted ${Math.round(stage.retransmittedPerSecond)}/s, received ${Math.round(stage.receivedPerSubscriber)}/s per subscriber, server CPU ${Math.round(stage.serverCpuPercent)} %, bench CPU ${Math.round(stage.benchCpuPercent)} %`,
      );
      if (dataLatencies.length === 0) dataLatencies = await measureDataLatency(talker, subscribers[0]);
    }
    const joins = subscribers.map((s) => (s.firstRtpAt ?? Number.NaN) - s.openedAt);
    const figures: [string, number][] = [
      ...stages.map((s): [string, number] => [`forward_cpu_us_per_packet_${s.subscribers}subs`, round(s.usPerPacket)]),
      ['join_ms_p50', round(percentile(joins, 50), 0)],
      ['join_ms_p99', round(percentile(joins, 99), 0)],
      ['data_latency_ms_p50', round(percentile(dataLatencies, 50), 2)],
      ['data_latency_ms_p99', round(percentile(dataLatencies, 99), 2)],
    ];
    if (!process.env.BENCH_NO_DOC) writeResults(DOC, renderResults(stages, joins, dataLatencies));
    console.log(`run took ${round((performance.now() - runStarted) / 1000)} s`);
    for (const [name, value] of figures) console.log(`${name}: ${value}`);
  } finally {
    await Promise.all(subscribers.map((s) => s.close().catch(() => undefined)));
    await talker?.close().catch(() => undefined);
    await publisher?.stop();
    await server.stop();
  }
}

function renderResults(stages: StageResult[], joins: number[], data: number[]): string {
  const lines = [
    `Last run: ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC, \`npm run bench\`, on ${machine()}.`,
    '',
    '| subscribers | forwarded packets/s | server CPU | µs CPU / forwarded packet (median of 5 × 2 s) | range of the 5 samples | bench (bots) process CPU |',
    '|---:|---:|---:|---:|---:|---:|',
    ...stages.map(
      (s) =>
        `| ${s.subscribers} | ${Math.round(s.packetsPerSecond)} | ${Math.round(s.serverCpuPercent)} % | **${round(s.usPerPacket)}** | ${round(s.usPerPacketMin)}–${round(s.usPerPacketMax)} | ${Math.round(s.benchCpuPercent)} % |`,
    ),
    '',
    `Join time (WebSocket open → first RTP at the subscriber, ${joins.length} subscribers joining one at a time): ` +
      `p50 **${round(percentile(joins, 50), 0)} ms**, p99 **${round(percentile(joins, 99), 0)} ms**.`,
    '',
    `Data-message latency through the SFU (${data.length} reliable messages, one every ${DATA_INTERVAL_MS} ms, with 1 subscriber): ` +
      `p50 **${round(percentile(data, 50), 2)} ms**, p99 **${round(percentile(data, 99), 2)} ms**.`,
  ];
  return lines.join('\n');
}

await main();
process.exit(0);
