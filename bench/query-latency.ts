/**
 * Query latency with EVENTS events in ClickHouse (10 million by default,
 * generated inside ClickHouse over USERS users and 7 days; the window tables
 * are filled from them through the same change log and views the worker
 * feeds): p50/p95 over HTTP of
 *   - a user's /activities page,
 *   - a user's 1h series over 7 days,
 *   - the overall top 10 over 24 hours,
 *   - /insights: a 7-day hourly trend by action (from the rollups, beside the
 *     same trend read from raw events), a 4-step funnel over 7 days, a weekly
 *     retention over 7 days (raw events, beside ClickHouse's windowFunnel
 *     alone over the same events),
 * and the rows each reads according to ClickHouse's primary-key analysis
 * (EXPLAIN ESTIMATE), beside the table sizes: rows read should follow the
 * answer, not the table.
 *
 *   npm run bench:query                 # 10,000,000 events, 100,000 users
 *   EVENTS=1000000 npm run bench:query
 */
import { bootstrapSteps, runSteps } from '../src/bootstrap.js';
import { loadConfig } from '../src/config.js';
import { createKafka } from '../src/kafka/client.js';
import { createLogger } from '../src/logger.js';
import { createClickHouse } from '../src/storage/clickhouse.js';
import { freePort, spawnStreamtrack } from '../testing/processes.js';
import { removeAddedLater } from '../testing/leftovers.js';
import { startServices } from '../testing/services.js';
import { isolatedEnv } from '../testing/test-config.js';
import { waitFor } from '../testing/wait-for.js';
import { formatRow } from './stats.js';

const EVENTS = Number(process.env.EVENTS ?? 10_000_000);
const USERS = Number(process.env.USERS ?? 100_000);
const REQUESTS = Number(process.env.REQUESTS ?? 200);
/** Requests of the routes that read raw events (about a second each at the default size). */
const HEAVY_REQUESTS = Number(process.env.HEAVY_REQUESTS ?? 40);
const START = '2026-01-01 00:00:00';
const SPAN_MS = 7 * 86_400_000;

async function main() {
  const services = await startServices();
  const removeLeftovers = await removeAddedLater(services.addresses, 'bench');
  const port = await freePort();
  const env = isolatedEnv(services.addresses, { API_PORT: String(port), LOG_LEVEL: 'warn' });
  const config = loadConfig(env);
  const clickhouse = createClickHouse(config.clickhouse, config.clickhouse.database);
  const api = spawnStreamtrack('api', env);
  try {
    await runSteps(bootstrapSteps(config, createKafka(config.kafka, createLogger('warn', 'bench'))));
    const loadStarted = performance.now();
    // In chunks (250,000 rows by default): each statement, views included, stays within the client's request timeout on a busy machine.
    const CHUNK = Number(process.env.CHUNK ?? 250_000);
    for (let first = 0; first < EVENTS; first += CHUNK) {
      await clickhouse.command({
        query: `INSERT INTO events (event_id, project_id, user_id, action, timestamp, sent_at, received_at, session_id, properties,
                                    context_ip, context_user_agent, context_locale, context_library_name, context_library_version,
                                    context_page_url, warnings, schema_id, kafka_partition, kafka_offset)
                SELECT generateUUIDv4(number), 'default', concat('user_', toString(number % {users:UInt64})),
                       ['view', 'click', 'cart', 'buy'][(number + intDiv(number, {users:UInt64})) % 4 + 1],
                       toDateTime64({start:String}, 3, 'UTC') + toIntervalMillisecond(intDiv(number * {span:UInt64}, {events:UInt64})),
                       NULL, toDateTime64({start:String}, 3, 'UTC') + toIntervalMillisecond(intDiv(number * {span:UInt64}, {events:UInt64})),
                       NULL, concat('{"plan":"pro","amount":', toString(number % 1000), '}'), NULL, NULL, NULL, NULL, NULL, NULL, [], 2, number % 12, number
                FROM numbers({first:UInt64}, {count:UInt64})`,
        query_params: { users: USERS, start: START, span: SPAN_MS, events: EVENTS, first, count: Math.min(CHUNK, EVENTS - first) },
        clickhouse_settings: { max_insert_block_size: '1000000' },
      });
    }
    // The window results, written as the worker writes them: final per-minute
    // rows into the change log, which the views roll up to hours and days;
    // a slice of the users at a time.
    const slices = Math.max(1, Math.ceil(EVENTS / 1_000_000));
    for (let slice = 0; slice < slices; slice++) {
      await clickhouse.command({
        query: `INSERT INTO agg_user_activity_changes (topology, project_id, user_id, window_start, window_end, revision, sign, is_final,
                                                       events, actions, first_event_at, last_event_at, numeric_count, numeric_sum, numeric_min, numeric_max)
                SELECT 'user-activity-1m', project_id, user_id, toStartOfMinute(timestamp) AS ws, ws + toIntervalMinute(1),
                       toUInt32(count() * 2 + 1), 1, 1, count(), sumMap(map(toString(action), toUInt64(1))), min(timestamp), max(timestamp),
                       map(), map(), map(), map()
                FROM events WHERE cityHash64(user_id) % {slices:UInt64} = {slice:UInt64}
                GROUP BY project_id, user_id, ws`,
        query_params: { slices, slice },
        clickhouse_settings: { max_insert_block_size: '1000000' },
      });
    }
    await clickhouse.command({
      query: `INSERT INTO topology_watermarks (topology, partition, watermark, open_windows, late_events)
              SELECT 'user-activity-1m', number, toDateTime64({start:String}, 3, 'UTC') + toIntervalDay(8), 0, 0 FROM numbers(12)`,
      query_params: { start: START },
    });
    const loadSeconds = (performance.now() - loadStarted) / 1000;

    const base = `http://127.0.0.1:${port}`;
    await waitFor(async () => ((await fetch(`${base}/healthz`)).ok ? true : undefined), { timeoutMs: 60_000, what: 'API up' });
    const user = (i: number) => `user_${(i * 7919) % USERS}`;
    const day = (i: number) => new Date(Date.parse(`${START}Z`) + (i % 6) * 86_400_000).toISOString();
    const week = 'from=2026-01-01T00:00:00Z&to=2026-01-08T00:00:00Z';
    const rawWeek = "project_id = 'default' AND timestamp >= '2026-01-01 00:00:00' AND timestamp < '2026-01-08 00:00:00'";
    const queries: Array<{ name: string; url: (i: number) => string; estimate: string; requests?: number }> = [
      {
        name: "a user's /activities page (100)",
        url: (i) => `/activities?user_id=${user(i)}&limit=100`,
        estimate: `SELECT * FROM events WHERE user_id = '${user(1)}' ORDER BY timestamp DESC LIMIT 100`,
      },
      {
        name: "a user's 1h series over 7 days",
        url: (i) => `/stats/users/${user(i)}?granularity=1h&from=2026-01-01T00:00:00Z&to=2026-01-08T00:00:00Z`,
        estimate: `SELECT hour, sum(events) FROM agg_user_activity_1h WHERE project_id = 'default' AND user_id = '${user(1)}' GROUP BY hour`,
      },
      {
        name: 'overall top 10 over 24 h',
        url: (i) => `/stats/overview?top=10&from=${day(i)}&to=${new Date(Date.parse(day(i)) + 86_400_000).toISOString()}`,
        estimate: `SELECT user_id, sum(events) FROM agg_user_activity_1h WHERE project_id = 'default' AND hour >= '2026-01-02 00:00:00' AND hour < '2026-01-03 00:00:00' GROUP BY user_id`,
      },
      {
        name: '7-day 1h trend by action (rollups)',
        url: (i) => `/insights/trends?${week}&granularity=1h&breakdown=action&top=${5 + (i % 2)}`,
        estimate: `SELECT hour, action, sum(events) FROM agg_action_activity_1h WHERE project_id = 'default' AND hour >= '2026-01-01 00:00:00' AND hour < '2026-01-08 00:00:00' GROUP BY hour, action`,
      },
      {
        name: 'baseline: same from raw events',
        url: (i) => `/insights/trends?${week}&granularity=1h&breakdown=action&top=${5 + (i % 2)}&where=plan:pro`,
        estimate: `SELECT user_id FROM events WHERE ${rawWeek}`,
        requests: HEAVY_REQUESTS,
      },
      {
        name: '4-step funnel over 7 days',
        url: (i) => `/insights/funnels?${week}&step=view&step=click&step=cart&step=buy&window=${86_400 - (i % 2)}`,
        estimate: `SELECT user_id FROM events WHERE ${rawWeek} AND action IN ('view', 'click', 'cart', 'buy')`,
        requests: HEAVY_REQUESTS,
      },
      {
        name: 'weekly retention over 7 days',
        url: (i) => `/insights/retention?${week}&first=view&return=${i % 2 ? 'buy' : 'cart'}&period=week`,
        estimate: `SELECT user_id FROM events WHERE ${rawWeek} AND action IN ('view', 'buy')`,
        requests: HEAVY_REQUESTS,
      },
    ];
    const count = async (table: string) =>
      Number(((await (await clickhouse.query({ query: `SELECT count() AS n FROM ${table}`, format: 'JSONEachRow' })).json<{ n: string }>())[0])?.n);
    console.log(`\n${EVENTS} events over ${USERS} users and 7 days, loaded in ${loadSeconds.toFixed(0)} s`);
    console.log(
      `table sizes: events ${await count('events')}, agg_user_activity_1h ${await count('agg_user_activity_1h')}, agg_action_activity_1h ${await count('agg_action_activity_1h')} rows`,
    );
    for (const q of queries) {
      for (let i = 0; i < 10; i++) await fetch(base + q.url(i)); // warm-up
      const samples: number[] = [];
      for (let i = 0; i < (q.requests ?? REQUESTS); i++) {
        const started = performance.now();
        const response = await fetch(base + q.url(i));
        await response.arrayBuffer();
        if (!response.ok) throw new Error(`${q.url(i)} -> ${response.status}`);
        samples.push(performance.now() - started);
      }
      const estimate = await (await clickhouse.query({ query: `EXPLAIN ESTIMATE ${q.estimate}`, format: 'JSONEachRow' })).json<{ rows: string }>();
      const rows = estimate.reduce((sum, part) => sum + Number(part.rows), 0);
      console.log(`${formatRow(q.name, samples)}  rows read (primary-key estimate) ${rows}`);
    }
    // The reference the funnel route is measured against: ClickHouse's windowFunnel alone (levels, no times), same events.
    const reference: number[] = [];
    for (let i = 0; i < Math.min(HEAVY_REQUESTS, 20); i++) {
      const started = performance.now();
      await (
        await clickhouse.query({
          query: `SELECT level, count() FROM (SELECT user_id, windowFunnel(86400000)(toUInt64(toUnixTimestamp64Milli(timestamp)),
                    action = 'view', action = 'click', action = 'cart', action = 'buy') AS level
                  FROM events WHERE ${rawWeek} AND action IN ('view', 'click', 'cart', 'buy') GROUP BY user_id) GROUP BY level`,
          format: 'JSONEachRow',
        })
      ).json();
      reference.push(performance.now() - started);
    }
    console.log(formatRow('baseline: windowFunnel alone', reference));
  } finally {
    await api.stop();
    await clickhouse.close();
    await removeLeftovers();
    await services.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
