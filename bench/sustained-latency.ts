/**
 * Event-to-queryable latency under sustained load: /track driven at RATE
 * events/s (batches of 100) for DURATION seconds, with the API and one
 * worker as processes on the real services. Latencies are read from
 * ClickHouse itself, per event and per result, so nothing is missed:
 *   - raw events: stored_at - received_at of every event;
 *   - rolling window updates: emitted_at - last_event_at of every result
 *     (events carry no client timestamp, so event time is receive time).
 * Baseline in the same run: the POST acknowledgement (Kafka acks=all).
 *
 *   npm run bench:sustained                     # 5,000 events/s for 30 s
 *   RATE=2000 DURATION=60 npm run bench:sustained
 */
import autocannon from 'autocannon';
import { loadConfig } from '../src/config.js';
import { createClickHouse } from '../src/storage/clickhouse.js';
import { freePort, rssMb, spawnStreamtrack } from '../testing/processes.js';
import { removeAddedLater } from '../testing/leftovers.js';
import { startServices } from '../testing/services.js';
import { initialize } from '../testing/deployment.js';
import { isolatedEnv } from '../testing/test-config.js';
import { waitFor } from '../testing/wait-for.js';

const RATE = Number(process.env.RATE ?? 5_000);
const DURATION = Number(process.env.DURATION ?? 30);
const BATCH = 100;
const USERS = 5_000;

async function main() {
  const services = await startServices();
  const removeLeftovers = await removeAddedLater(services.addresses, 'bench');
  const port = await freePort();
  // Rolling updates every second of event time: the update latency then measures the pipeline.
  const env = isolatedEnv(services.addresses, { API_PORT: String(port), LOG_LEVEL: 'warn', KAFKA_EVENTS_PARTITIONS: '12', TOPOLOGY_ROLLING_UPDATE_MS: '1000' });
  const clickhouse = createClickHouse(loadConfig(env).clickhouse);
  await initialize(services.addresses, env);
  const api = spawnStreamtrack('api', env);
  const worker = spawnStreamtrack('worker', env);
  const base = `http://127.0.0.1:${port}`;
  let peakRss = 0;
  const sampler = setInterval(() => void rssMb(worker.child.pid).then((mb) => (peakRss = Math.max(peakRss, mb || 0))), 250);
  try {
    await waitFor(async () => ((await fetch(`${base}/readyz`)).ok ? true : undefined), { timeoutMs: 60_000, what: 'API ready' });
    let i = 0;
    const body = () => JSON.stringify(Array.from({ length: BATCH }, () => ({ user_id: `user_${i++ % USERS}`, action: 'bench', properties: { amount: i % 10 } })));
    const load = await autocannon({
      url: `${base}/track`,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      connections: 10,
      duration: DURATION,
      overallRate: RATE / BATCH,
      requests: [{ setupRequest: (request) => ({ ...request, body: body() }) }],
    });
    const sent = (load.statusCodeStats?.['202' as keyof typeof load.statusCodeStats]?.count ?? 0) * BATCH;
    const count = async (sql: string) => Number(((await (await clickhouse.query({ query: sql, format: 'JSONEachRow' })).json<{ n: string }>())[0])?.n ?? 0);
    await waitFor(async () => ((await count('SELECT count() AS n FROM events')) >= sent ? true : undefined), {
      timeoutMs: 600_000,
      intervalMs: 500,
      what: 'every event stored',
    });
    const quantiles = async (sql: string) =>
      (await (await clickhouse.query({ query: sql, format: 'JSONEachRow', clickhouse_settings: { output_format_json_quote_64bit_integers: 0 } })).json<{ p50: number; p99: number; n: number }>())[0]!;
    const raw = await quantiles(`SELECT quantileExact(0.5)(ms) AS p50, quantileExact(0.99)(ms) AS p99, count() AS n
                                 FROM (SELECT toUnixTimestamp64Milli(stored_at) - toUnixTimestamp64Milli(received_at) AS ms FROM events)`);
    const updates = await quantiles(`SELECT quantileExact(0.5)(ms) AS p50, quantileExact(0.99)(ms) AS p99, count() AS n
                                     FROM (SELECT toUnixTimestamp64Milli(emitted_at) - toUnixTimestamp64Milli(last_event_at) AS ms
                                           FROM agg_user_activity_changes WHERE sign = 1 AND is_final = 0)`);
    console.log(`\nSustained load: ${sent} events at ${RATE}/s for ${DURATION} s (batches of ${BATCH}), one worker`);
    console.log(`POST /track acknowledged (baseline)   p50 ${load.latency.p50} ms   p99 ${load.latency.p99} ms`);
    console.log(`raw event stored (queryable)          p50 ${raw.p50} ms   p99 ${raw.p99} ms   (n=${raw.n})`);
    console.log(`rolling window update written         p50 ${updates.p50} ms   p99 ${updates.p99} ms   (n=${updates.n})`);
    console.log(`worker peak RSS                       ${peakRss.toFixed(0)} MB`);
  } finally {
    clearInterval(sampler);
    await Promise.all([api.stop(), worker.stop()]);
    await clickhouse.close();
    await removeLeftovers();
    await services.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
