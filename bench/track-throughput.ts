/**
 * POST /track throughput on loopback, keep-alive, load from autocannon in
 * this process against the API in a child process:
 *   1. one event per request to /track, beside the same load on two no-op
 *      Hono routes on the same server: /noop reads the body as /track does,
 *      /noop-fetch as a Hono handler does by default (c.req.arrayBuffer(),
 *      which builds a Fetch Request); the ratios are how much of the
 *      framework's speed /track keeps. /noop and /track run in alternate
 *      runs at each number of connections in CONNECTIONS, round after round
 *      (ROUNDS), so a drift in the machine's speed falls on both sides and on
 *      every concurrency alike. Two ratios come of it:
 *      - at each concurrency, the median of the rounds' ratios;
 *      - of capacities: in each round, each route's best rate over the
 *        concurrencies, /track's over the no-op's (as TechEmpower ranks
 *        frameworks by their best concurrency); the median of the rounds'.
 *        /track answers after Kafka's acknowledgement (one produce request
 *        in flight, 1.5-5 ms here), so at 50 connections its rate is partly
 *        bound by that round trip, with the API's main thread idle for part
 *        of the time (Little's law), while the no-op route is at its best
 *        there; with more connections /track reaches its own;
 *   2. batches of 100 events per request to /track, at the first number of
 *      CONNECTIONS: events/s through to Kafka acknowledgements;
 *   3. the same through the Segment-spec route: batches of 100 messages to
 *      /v1/batch (analytics-node's shape: Basic auth, `node-next-…`
 *      messageIds, so each id's v5 derivation counts), as JSON and as gzip
 *      (RudderStack's default; 64 bodies compressed ahead, cycled, so the
 *      load generator does not compress in the run).
 * Every request body has its own user_id, so events spread over partitions.
 *
 * /track runs with keys on (STREAMTRACK_AUTH=keys): every request carries a
 * write key of a project whose write limit is out of reach, so the figures
 * include the key check and the rate limiter; AUTH=open measures without.
 * The no-op routes get the same header.
 *
 *   npm run bench:track                      # 5 s per run, 3 rounds, at 50, 100, 200 and 400 connections
 *   DURATION=10 ROUNDS=5 CONNECTIONS=100 npm run bench:track
 *   AUTH=open npm run bench:track
 *
 * Both processes share this machine's cores: the figures are a floor.
 */
import { gzipSync } from 'node:zlib';
import autocannon from 'autocannon';
import { createKeyStore } from '../src/auth/key-store.js';
import { loadConfig, type Config } from '../src/config.js';
import { createClickHouse } from '../src/storage/clickhouse.js';
import { migrate } from '../src/storage/migrations.js';
import { removeAddedLater } from '../testing/leftovers.js';
import { startServices } from '../testing/services.js';
import { cpuSeconds, freePort, machineCpuSeconds, rssMb, spawnTypeScript } from '../testing/processes.js';
import { isolatedEnv } from '../testing/test-config.js';
import { waitFor } from '../testing/wait-for.js';
import { median } from './stats.js';

/** Seconds of each run (and of each round of /noop and of /track). */
const DURATION = Number(process.env.DURATION ?? 5);
const CONNECTIONS = (process.env.CONNECTIONS ?? '50,100,200,400').split(',').map(Number);
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const AUTH = process.env.AUTH === 'open' ? 'open' : 'keys';
let authorization: Record<string, string> = {};

function event(i: number) {
  return { user_id: `user_${i % 10_000}`, action: 'bench', properties: { plan: 'pro', i, ok: true } };
}

/** The event as a Segment-spec message, as analytics-node sends one. */
function message(i: number) {
  return { type: 'track', messageId: `node-next-1765000000000-${i}`, userId: `user_${i % 10_000}`, event: 'bench', properties: { plan: 'pro', i, ok: true }, timestamp: new Date().toISOString() };
}

/** Where a run's CPU went: the API process, this process (the load generator) and the machine as a whole. */
async function cpuNow(apiPid: number | undefined) {
  return { api: await cpuSeconds(apiPid), load: await cpuSeconds(), machine: await machineCpuSeconds() };
}

async function load(url: string, connections: number, body: (i: number) => string | Buffer, expectStatus: number, apiPid: number | undefined, headers: Record<string, string> = authorization) {
  let i = 0;
  const before = await cpuNow(apiPid);
  const result = await autocannon({
    url,
    method: 'POST',
    connections,
    duration: DURATION,
    headers: { 'content-type': 'application/json', ...headers },
    requests: [{ setupRequest: (request) => ({ ...request, body: body(i++) }) }],
  });
  const after = await cpuNow(apiPid);
  const ok = result.statusCodeStats?.[String(expectStatus) as keyof typeof result.statusCodeStats]?.count ?? 0;
  const cpu = {
    api: (after.api - before.api) / DURATION,
    load: (after.load - before.load) / DURATION,
    machine: (after.machine.busy - before.machine.busy) / (after.machine.total - before.machine.total),
  };
  return { result, okPerSecond: ok / DURATION, other: result.requests.total - ok, cpu };
}

/** The API's produce requests so far: count, records and acknowledgement seconds, from its /metrics (operations port). */
async function produceTotals(opsBase: string) {
  const text = await (await fetch(`${opsBase}/metrics`)).text();
  const value = (name: string) => Number(text.match(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm'))?.[1] ?? 0);
  return {
    requests: value('streamtrack_kafka_produce_batch_records_count'),
    records: value('streamtrack_kafka_produce_batch_records_sum'),
    seconds: value('streamtrack_kafka_produce_duration_seconds_sum'),
  };
}

/** What Kafka saw of one run: produce requests per second, records per request, mean time to acknowledge. */
function produceLine(before: Awaited<ReturnType<typeof produceTotals>>, after: Awaited<ReturnType<typeof produceTotals>>) {
  const requests = after.requests - before.requests;
  const perRequest = (after.records - before.records) / requests;
  const ackMs = ((after.seconds - before.seconds) / requests) * 1000;
  return `${'  its produce requests'.padEnd(34)} ${(requests / DURATION).toFixed(0).padStart(8)} /s     ${perRequest.toFixed(1)} records each, acknowledged in ${ackMs.toFixed(1)} ms on average`;
}

function line(name: string, r: Awaited<ReturnType<typeof load>>, unit = 'req/s') {
  const l = r.result.latency;
  const cpu = `CPU: API ${(r.cpu.api * 100).toFixed(0)}% of a core (${((r.cpu.api * DURATION * 1e6) / r.result.requests.total).toFixed(0)} µs/request), load generator ${(r.cpu.load * 100).toFixed(0)}%, machine ${(r.cpu.machine * 100).toFixed(0)}% busy`;
  return `${name.padEnd(34)} ${r.okPerSecond.toFixed(0).padStart(8)} ${unit}   p50 ${l.p50} ms  p99 ${l.p99} ms  non-2xx ${r.other}   ${cpu}`;
}

/** A project whose write limit no run reaches, and a write key of it. */
async function benchWriteKey(config: Config): Promise<string> {
  await migrate(config.clickhouse);
  const clickhouse = createClickHouse(config.clickhouse);
  try {
    const store = createKeyStore(clickhouse);
    await store.createProject('bench', { writeEventsPerSecond: 1_000_000_000 });
    return (await store.createKey('bench', ['write'])).key;
  } finally {
    await clickhouse.close();
  }
}

async function main() {
  const services = await startServices();
  const removeLeftovers = await removeAddedLater(services.addresses, 'bench');
  const [port, opsPort] = [await freePort(), await freePort()];
  const env = isolatedEnv(services.addresses, {
    API_PORT: String(port),
    API_OPS_PORT: String(opsPort),
    LOG_LEVEL: 'warn',
    KAFKA_EVENTS_PARTITIONS: '12',
    STREAMTRACK_AUTH: AUTH,
  });
  if (AUTH === 'keys') authorization = { authorization: `Bearer ${await benchWriteKey(loadConfig(env))}` };
  console.log(`auth: ${AUTH}`);
  const server = spawnTypeScript(['bench/track-server.ts'], env);
  const base = `http://127.0.0.1:${port}`;
  const opsBase = `http://127.0.0.1:${opsPort}`;
  try {
    await waitFor(async () => ((await fetch(`${base}/readyz`)).ok ? true : undefined), {
      timeoutMs: 60_000,
      what: `bench server ready\n${server.output()}`,
    });
    const pid = server.child.pid;
    const single = (i: number) => JSON.stringify(event(i));
    const batch = (i: number) => JSON.stringify(Array.from({ length: 100 }, (_, j) => event(i * 100 + j)));

    await load(`${base}/track`, CONNECTIONS[0]!, single, 202, pid); // warm-up: JIT, producer connection, schema cache
    const runs = new Map(CONNECTIONS.map((c) => [c, { noop: [] as number[], track: [] as number[], ratios: [] as number[] }]));
    const capacityRatios: number[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      const best = { noop: 0, track: 0 };
      for (const connections of CONNECTIONS) {
        const noop = await load(`${base}/noop`, connections, single, 202, pid);
        const beforeTrack = await produceTotals(opsBase);
        const track = await load(`${base}/track`, connections, single, 202, pid);
        const afterTrack = await produceTotals(opsBase);
        const of = runs.get(connections)!;
        of.noop.push(noop.okPerSecond);
        of.track.push(track.okPerSecond);
        of.ratios.push(track.okPerSecond / noop.okPerSecond);
        best.noop = Math.max(best.noop, noop.okPerSecond);
        best.track = Math.max(best.track, track.okPerSecond);
        console.log(`\nround ${round}: POST on loopback, ${connections} connections, ${DURATION} s per run, keep-alive`);
        console.log(line('  no-op route, body read as /track', noop));
        console.log(line('  /track, 1 event per request', track));
        console.log(produceLine(beforeTrack, afterTrack));
        console.log(`${'  ratio /track : no-op'.padEnd(34)} ${of.ratios.at(-1)!.toFixed(2)}`);
      }
      capacityRatios.push(best.track / best.noop);
    }
    const medians = CONNECTIONS.map((c) => {
      const of = runs.get(c)!;
      return { connections: c, noop: median(of.noop), track: median(of.track), ratios: of.ratios };
    });
    console.log('');
    const noopFetch = await load(`${base}/noop-fetch`, CONNECTIONS[0]!, single, 202, pid);
    console.log(line('no-op route, body via Fetch', noopFetch));
    for (const m of medians) {
      const rates = `no-op ${m.noop.toFixed(0)}, /track ${m.track.toFixed(0)} req/s median`;
      console.log(`${`ratio /track : no-op, ${m.connections} conn.`.padEnd(34)} ${median(m.ratios).toFixed(2)} median   (rounds: ${m.ratios.map((r) => r.toFixed(2)).join(', ')}; ${rates})`);
    }
    console.log(
      `${'ratio of capacities'.padEnd(34)} ${median(capacityRatios).toFixed(2)} median   (rounds: ${capacityRatios.map((r) => r.toFixed(2)).join(', ')}; each route's best rate of the round)`,
    );
    const beforeBatches = await produceTotals(opsBase);
    const batches = await load(`${base}/track`, CONNECTIONS[0]!, batch, 202, pid);
    const afterBatches = await produceTotals(opsBase);
    console.log(line('/track, 100 events per request', batches));
    console.log(produceLine(beforeBatches, afterBatches));
    console.log(`${'events/s acknowledged by Kafka'.padEnd(34)} ${(batches.okPerSecond * 100).toFixed(0)}`);

    // Segment's libraries send the key as the Basic user name; open mode has no key.
    const segmentAuth: Record<string, string> = authorization.authorization ? { authorization: `Basic ${Buffer.from(`${authorization.authorization.slice('Bearer '.length)}:`).toString('base64')}` } : {};
    const segmentBatch = (i: number) => JSON.stringify({ batch: Array.from({ length: 100 }, (_, j) => message(i * 100 + j)), sentAt: new Date().toISOString() });
    const beforeSegment = await produceTotals(opsBase);
    const segment = await load(`${base}/v1/batch`, CONNECTIONS[0]!, segmentBatch, 200, pid, segmentAuth);
    const afterSegment = await produceTotals(opsBase);
    console.log(line('/v1/batch, 100 messages per request', segment));
    console.log(produceLine(beforeSegment, afterSegment));
    console.log(`${'events/s acknowledged by Kafka'.padEnd(34)} ${(segment.okPerSecond * 100).toFixed(0)}`);
    const zipped = Array.from({ length: 64 }, (_, i) => gzipSync(segmentBatch(i)));
    const segmentGzip = await load(`${base}/v1/batch`, CONNECTIONS[0]!, (i) => zipped[i % zipped.length]!, 200, pid, { ...segmentAuth, 'content-encoding': 'gzip' });
    console.log(line('/v1/batch gzip, 100 per request', segmentGzip));
    console.log(`${'events/s acknowledged by Kafka'.padEnd(34)} ${(segmentGzip.okPerSecond * 100).toFixed(0)}`);
    console.log(`${'API RSS after the runs'.padEnd(34)} ${(await rssMb(server.child.pid)).toFixed(0)} MB`);
  } finally {
    await server.stop();
    await removeLeftovers();
    await services.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
