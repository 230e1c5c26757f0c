/**
 * Cluster benchmark (`npm run bench:cluster`, after `npm run build`): a redis-server of its own (free loopback port)
 * and BENCH_NODES (3) media node processes (`node dist/server/main.js`), werift bots that rejoin as the SDK does
 * (client/sdk/reconnect-policy.ts backoff, redirects followed). Prints `name: value` lines:
 *
 * - joins at the room's node vs. through another node (redirect), p50 over BENCH_JOIN_SAMPLES (30) of each;
 * - BENCH_PLACEMENT_TRIALS (1000) new rooms, each joined by 3 clients through 3 different nodes at once; every
 *   room must end with one lease owner and all 3 clients joined there;
 * - BENCH_KILLS (10) times: a room (1 publisher, BENCH_SUBSCRIBERS (3) subscribers) whose node is killed with
 *   SIGKILL; time until media flows again at every subscriber, and where it goes (socket closed, first rejoin try,
 *   the room placed again, everyone joined, published again, media); the killed node is replaced by a new one;
 * - BENCH_DRAINS (3) times: the room's node gets SIGTERM (shutdown.drainMs 1 s): the media gap at the subscribers;
 * - split-brain rooms over all of it: a room whose clients are joined on more than one node, or on a node that
 *   does not hold its lease (checked when each trial settles, and every 200 ms during failovers and drains).
 *
 * BENCH_HEARTBEAT_MS sets the nodes' cluster.heartbeatMs (default 1000; the node TTL stays 3 s).
 * The SDK's URL list after a failure (BENCH_URLS): `survivors` (default: the live nodes, as a load balancer that
 * dropped the dead one would give) or `all` (every node started so far, the dead one included).
 */
import { RedisProcess } from '../test/helpers/redis-process.js';
import { testToken } from '../test/helpers/signaling-client.js';
import type { NodeProcess } from '../test/helpers/node-process.js';
import { joinLikeSdk } from './lib/cluster-join.js';
import { ClusterParticipant, type Recovery } from './lib/cluster-participant.js';
import { NodeFleet } from './lib/node-fleet.js';
import { percentile, round, sleep } from './lib/stats.js';

const NODES = Number(process.env.BENCH_NODES ?? 3);
const JOIN_SAMPLES = Number(process.env.BENCH_JOIN_SAMPLES ?? 30);
const PLACEMENT_TRIALS = Number(process.env.BENCH_PLACEMENT_TRIALS ?? 1000);
const PLACEMENT_CONCURRENCY = Number(process.env.BENCH_PLACEMENT_CONCURRENCY ?? 20);
const KILLS = Number(process.env.BENCH_KILLS ?? 10);
const DRAINS = Number(process.env.BENCH_DRAINS ?? 3);
const SUBSCRIBERS = Number(process.env.BENCH_SUBSCRIBERS ?? 3);
const URLS = process.env.BENCH_URLS === 'all' ? 'all' : 'survivors';
const DRAIN_MS = 1000;

const splitBrainRooms = new Set<string>();
const everStarted: NodeProcess[] = [];

function print(name: string, value: number | string): void {
  console.log(`${name}: ${typeof value === 'number' ? round(value, 1) : value}`);
}

async function until(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(20);
  }
}

const pick = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)];

/** Nodes (by id) where the room's participants are joined now, against its lease; a mismatch is a split brain. */
async function roomViolation(fleet: NodeFleet, room: string, people: readonly ClusterParticipant[]): Promise<string | undefined> {
  const owner = await fleet.owner(room);
  const at = new Set(people.flatMap((p) => (p.nodeUrl ? [everStarted.find((n) => n.signalingUrl === p.nodeUrl)?.nodeId ?? p.nodeUrl] : [])));
  if (at.size === 0) return undefined;
  if (at.size > 1 || !owner || !at.has(owner)) return `room ${room}: clients on ${[...at].join(',')}, lease ${owner ?? 'none'}`;
  return undefined;
}

/** Samples `room` every 200 ms until `stop()`; a violation seen in two samples in a row is a split brain. */
function watchSplitBrain(fleet: NodeFleet, room: string, people: readonly ClusterParticipant[]): () => Promise<void> {
  let running = true;
  const loop = (async () => {
    let previous: string | undefined;
    while (running) {
      const violation = await roomViolation(fleet, room, people);
      if (violation && violation === previous) {
        splitBrainRooms.add(room);
        console.error(`  SPLIT BRAIN ${violation}`);
      }
      previous = violation;
      await sleep(200);
    }
  })();
  return async () => {
    running = false;
    await loop;
  };
}

async function measureJoins(fleet: NodeFleet): Promise<void> {
  const direct: number[] = [];
  const viaOther: number[] = [];
  for (let i = 0; i < JOIN_SAMPLES; i++) {
    const room = `join latency ${i}`;
    const holder = await joinLikeSdk(pick(fleet.live).signalingUrl, room, await testToken({ room, identity: 'holder' }));
    const owner = fleet.byUrl(holder.url)!;
    const other = pick(fleet.live.filter((n) => n !== owner));
    for (const [through, into] of [[owner, direct], [other, viaOther]] as const) {
      const token = await testToken({ room, identity: `joiner via ${through.nodeId}` });
      const startedAt = performance.now();
      const { client, url } = await joinLikeSdk(through.signalingUrl, room, token);
      into.push(performance.now() - startedAt);
      if (url !== owner.signalingUrl) throw new Error(`join through ${through.nodeId} ended at ${url}, not at the owner ${owner.nodeId}`);
      client.close();
    }
    holder.client.close();
  }
  print('cluster_join_ms_p50_direct', percentile(direct, 50));
  print('cluster_join_ms_p50_via_other_node', percentile(viaOther, 50));
  print('cluster_join_ms_p95_direct', percentile(direct, 95));
  print('cluster_join_ms_p95_via_other_node', percentile(viaOther, 95));
}

async function placementTrial(fleet: NodeFleet, trial: number): Promise<void> {
  const room = `placement ${trial} 🎓`;
  const through = fleet.live.slice(0, 3);
  const joins = await Promise.all(through.map(async (node, i) => joinLikeSdk(node.signalingUrl, room, await testToken({ room, identity: `client ${i}` }))));
  const owner = await fleet.owner(room);
  const at = new Set(joins.map((j) => fleet.byUrl(j.url)?.nodeId));
  if (at.size !== 1 || !owner || !at.has(owner)) {
    splitBrainRooms.add(room);
    console.error(`  SPLIT BRAIN room ${room}: clients on ${[...at].join(',')}, lease ${owner}`);
  }
  for (const join of joins) join.client.close();
}

async function measurePlacement(fleet: NodeFleet): Promise<void> {
  const startedAt = performance.now();
  let next = 0;
  const worker = async () => {
    while (next < PLACEMENT_TRIALS) await placementTrial(fleet, next++);
  };
  await Promise.all(Array.from({ length: PLACEMENT_CONCURRENCY }, worker));
  print('cluster_placement_trials', PLACEMENT_TRIALS);
  print('cluster_placement_seconds', (performance.now() - startedAt) / 1000);
}

/** A room on some node: a publisher and SUBSCRIBERS subscribers, joined through random nodes, media flowing. */
async function startRoom(fleet: NodeFleet, room: string): Promise<{ publisher: ClusterParticipant; subscribers: ClusterParticipant[]; owner: NodeProcess }> {
  const urls = () => (URLS === 'all' ? everStarted : fleet.live).map((n) => n.signalingUrl);
  const publisher = new ClusterParticipant('teacher', room, 'publisher', urls);
  await publisher.start(pick(fleet.live).signalingUrl);
  const subscribers = Array.from({ length: SUBSCRIBERS }, (_, i) => new ClusterParticipant(`student ${i}`, room, 'subscriber', urls));
  await Promise.all(subscribers.map((s) => s.start(pick(fleet.live).signalingUrl)));
  await until(() => subscribers.every((s) => s.videoPackets() > 30), 20_000, `video at every subscriber of ${room}`);
  const owner = fleet.byId((await fleet.owner(room))!)!;
  return { publisher, subscribers, owner };
}

const since = (at: number | undefined, t0: number) => (at === undefined ? Number.NaN : at - t0);
const latest = (values: (number | undefined)[], t0: number) => Math.max(...values.map((v) => since(v, t0)));

interface FailoverSample {
  total: number;
  closed: number;
  firstTry: number;
  placed: number;
  joined: number;
  published: number;
  deadTries: number;
}

async function failover(fleet: NodeFleet, kill: number): Promise<FailoverSample> {
  const room = `failover ${kill}`;
  const { publisher, subscribers, owner } = await startRoom(fleet, room);
  const people = [publisher, ...subscribers];
  const stopWatching = watchSplitBrain(fleet, room, people);
  fleet.remove(owner);
  const killedAt = performance.now();
  await owner.kill('SIGKILL');
  await until(() => people.every((p) => p.recoveries.length === 1 && !p.recovering), 30_000, `every participant of ${room} back with media`);
  await stopWatching();
  const failed = people.filter((p) => p.failed);
  if (failed.length > 0) throw new Error(`${failed.map((p) => `${p.identity}: ${p.failed}`).join('; ')}`);
  const violation = await roomViolation(fleet, room, people);
  if (violation) splitBrainRooms.add(room);
  const recoveries: Recovery[] = people.map((p) => p.recoveries[0]);
  const steps = recoveries.flatMap((r) => r.steps);
  const sample: FailoverSample = {
    total: latest(subscribers.map((s) => s.recoveries[0].mediaAt), killedAt),
    closed: latest(recoveries.map((r) => r.lostAt), killedAt),
    firstTry: latest(recoveries.map((r) => r.firstTryAt), killedAt),
    // The first join that a surviving node served: the room was placed again there.
    placed: Math.min(...steps.filter((s) => s.outcome === 'joined').map((s) => s.at - killedAt)),
    joined: latest(recoveries.map((r) => r.joinedAt), killedAt),
    published: since(publisher.recoveries[0].publishedAt, killedAt),
    // Tries that were sent to the dead node (redirected there, or refused by it).
    deadTries: steps.filter((s) => (s.outcome === 'redirect' && s.detail === owner.nodeId) || s.outcome === 'refused').length,
  };
  console.error(
    `  kill ${kill + 1}/${KILLS} of ${owner.nodeId}: media at every subscriber after ${round(sample.total)} ms (closed ${round(sample.closed)}, first try ${round(sample.firstTry)}, ` +
      `placed ${round(sample.placed)}, all joined ${round(sample.joined)}, published ${round(sample.published)}; ${sample.deadTries} tries sent to the dead node)`,
  );
  for (const p of people) await p.close();
  everStarted.push(await fleet.add());
  return sample;
}

async function drain(fleet: NodeFleet, index: number): Promise<number> {
  const room = `drain ${index}`;
  const { publisher, subscribers, owner } = await startRoom(fleet, room);
  const people = [publisher, ...subscribers];
  const stopWatching = watchSplitBrain(fleet, room, people);
  fleet.remove(owner);
  const exited = owner.kill('SIGTERM');
  await until(() => people.every((p) => p.recoveries.length === 1 && !p.recovering), 30_000, `every participant of ${room} back with media`);
  await stopWatching();
  await exited;
  const violation = await roomViolation(fleet, room, people);
  if (violation) splitBrainRooms.add(room);
  const gap = Math.max(...subscribers.map((s) => s.recoveries[0].mediaAt! - s.recoveries[0].lastMediaBeforeAt!));
  const closeCodes = [...new Set(people.map((p) => p.recoveries[0].closeCode))].join(',');
  console.error(`  drain ${index + 1}/${DRAINS} of ${owner.nodeId}: media gap ${round(gap)} ms (close codes ${closeCodes})`);
  for (const p of people) await p.close();
  everStarted.push(await fleet.add());
  return gap;
}

async function main(): Promise<void> {
  console.error(`cluster bench: ${NODES} nodes, ${JOIN_SAMPLES} join samples, ${PLACEMENT_TRIALS} placement trials, ${KILLS} kills, ${DRAINS} drains, ${SUBSCRIBERS} subscribers, urls ${URLS}`);
  const redis = await RedisProcess.start();
  const inspect = redis.client();
  const fleet = new NodeFleet(redis, inspect, {
    signaling: { connectionsPerIpPerSecond: 1_000_000, connectionBurstPerIp: 1_000_000 },
    shutdown: { drainMs: DRAIN_MS, graceMs: 5000 },
    ...(process.env.BENCH_HEARTBEAT_MS ? { cluster: { heartbeatMs: Number(process.env.BENCH_HEARTBEAT_MS) } } : {}),
  });
  try {
    for (let i = 0; i < NODES; i++) everStarted.push(await fleet.add());
    await measureJoins(fleet);
    await measurePlacement(fleet);
    const samples: FailoverSample[] = [];
    for (let k = 0; k < KILLS; k++) samples.push(await failover(fleet, k));
    const gaps: number[] = [];
    for (let d = 0; d < DRAINS; d++) gaps.push(await drain(fleet, d));

    const p = (key: keyof FailoverSample, q: number) => percentile(samples.map((s) => s[key]), q);
    print('cluster_failover_kills', samples.length);
    print('cluster_failover_ms_p50', p('total', 50));
    print('cluster_failover_ms_p95', p('total', 95));
    print('cluster_failover_ms_max', p('total', 100));
    print('cluster_failover_socket_closed_ms_p50', p('closed', 50));
    print('cluster_failover_first_rejoin_try_ms_p50', p('firstTry', 50));
    print('cluster_failover_room_placed_again_ms_p50', p('placed', 50));
    print('cluster_failover_room_placed_again_ms_p95', p('placed', 95));
    print('cluster_failover_all_joined_ms_p50', p('joined', 50));
    print('cluster_failover_published_again_ms_p50', p('published', 50));
    print('cluster_failover_tries_at_dead_node_p50', p('deadTries', 50));
    print('cluster_drain_media_gap_ms', percentile(gaps, 50));
    print('cluster_drain_media_gap_ms_max', percentile(gaps, 100));
    print('cluster_split_brain_rooms', splitBrainRooms.size);
  } finally {
    await fleet.stop();
    inspect.disconnect();
    await redis.stop();
  }
}

await main();
process.exit(0);
