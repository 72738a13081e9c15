/**
 * Random user ids cannot grow a worker's window state without bound: every
 * event of a stream of distinct users, all in the same minutes (every
 * window open at once), produced straight to Kafka. Past
 * TOPOLOGY_MAX_OPEN_WINDOWS per partition the rest are counted under
 * `$other`: streamtrack_windows_shed_total rises, the worker's resident
 * memory stays under its bound, and the totals stay exact (the hour rollup
 * counts every stored event).
 *
 * By default 400,000 users against a cap of 2,500 windows per partition
 * (the same arithmetic at a fifth of the cost: under a minute). With
 * STREAMTRACK_HEAVY_TESTS=1, the 2,000,000 users against the
 * default cap (several minutes on two cores).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { testKafka } from '../testing/kafka.js';
import { scrapeMetric } from '../testing/metrics.js';
import { produceEvents, type ProducedEvent } from '../testing/produce-events.js';
import { freePort, sampleRss } from '../testing/processes.js';
import { Stack } from '../testing/stack.js';
import { waitUntil } from '../testing/wait-for.js';

const HEAVY = process.env.STREAMTRACK_HEAVY_TESTS === '1';
const USERS = HEAVY ? 2_000_000 : 400_000;
const MAX_OPEN_WINDOWS = HEAVY ? loadConfig({}).topology.maxOpenWindows : 2_500;
/**
 * The worker's documented resident memory bound: 800 MB for the process
 * working at full speed (its heap with a 64 MB semi-space, two rounds of at
 * most one 4 MB fetch in flight: bench:worker peaks at 580-710 MB), plus
 * the capped window state at 1.8 KB a window (measured here as RSS: 655 MB
 * with 20,000 windows, 1,314 MB with 400,000), partitions held x cap x 2
 * topologies; 4 partitions here.
 */
const RSS_BOUND_MB = Math.round(800 + (4 * MAX_OPEN_WINDOWS * 2 * 1_800) / 2 ** 20);
const START = Date.parse('2026-05-01T12:00:00Z');

const stack = new Stack();
let metricsBase = '';
beforeAll(async () => {
  await stack.start(0, { TOPOLOGY_MAX_OPEN_WINDOWS: String(MAX_OPEN_WINDOWS) });
  const port = await freePort();
  stack.addWorker({ WORKER_HTTP_PORT: String(port) });
  metricsBase = `http://127.0.0.1:${port}`;
});
afterAll(() => stack.stop());

function* distinctUsers(): Generator<ProducedEvent> {
  // Two minutes of event time, so every user's window is open while the stream lasts.
  for (let i = 0; i < USERS; i++) yield { user_id: `random_${i}`, action: 'visit', timestamp: START + Math.floor((i / USERS) * 120_000) };
}

describe(`${USERS.toLocaleString('en')} distinct users`, () => {
  it('shed past the open-window cap: the shed metric rises, worker memory stays under its bound, totals stay exact', async () => {
    const worker = stack.workers[0]!;
    const sampler = sampleRss([worker.child.pid!]);
    const started = Date.now();
    const produced = await produceEvents(testKafka(loadConfig(stack.env).kafka), stack.env.KAFKA_EVENTS_TOPIC!, stack.env.SCHEMA_REGISTRY_URL!, distinctUsers(), 20_000);
    const producedSeconds = (Date.now() - started) / 1000;
    await waitUntil(() => stack.count('SELECT count() AS n FROM events'), (n) => n >= USERS, {
      timeoutMs: HEAVY ? 900_000 : 180_000,
      intervalMs: 1_000,
      what: `${USERS} events stored`,
    });
    const storedSeconds = (Date.now() - started) / 1000;
    const shed = await scrapeMetric(metricsBase, 'streamtrack_windows_shed_total', { cap: 'window' });
    const hourRollup = await waitUntil(() => stack.count('SELECT sum(events) AS n FROM agg_user_activity_1h'), (n) => n >= USERS, {
      timeoutMs: 120_000,
      intervalMs: 1_000,
      what: 'the hour rollup counting every event',
    });
    const [rssPeakMb] = await sampler.stop();
    const figures = { users: USERS, maxOpenWindows: MAX_OPEN_WINDOWS, producedSeconds, storedSeconds, shed, hourRollup, rssPeakMb, rssBoundMb: RSS_BOUND_MB, mb: Math.round(produced.bytes / 2 ** 20) };
    console.log('[bounded state]', JSON.stringify(figures));
    expect(shed).toBeGreaterThan(0);
    expect(hourRollup).toBe(USERS);
    expect(await stack.count(`SELECT count() AS n FROM agg_user_activity_1m FINAL WHERE user_id = '$other'`)).toBeGreaterThan(0);
    expect(rssPeakMb).toBeLessThan(RSS_BOUND_MB);
    expect(worker.child.exitCode).toBeNull();
  }, HEAVY ? 1_200_000 : 300_000);
});
