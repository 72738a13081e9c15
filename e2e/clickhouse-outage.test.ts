/**
 * ClickHouse stopped for 30 s under load: ingestion goes on (the API never
 * waits on the database), the workers hold their rounds and retry with
 * backoff, consumer lag grows, and a backlog of many rounds (produced
 * straight to Kafka) leaves each worker's memory within its bound: a worker
 * holds at most two rounds of at most one fetch (4 MB) each, whatever the
 * lag. Once ClickHouse is back everything lands, exactly once.
 * Then ClickHouse stalled (frozen, not stopped: requests are sent and never
 * answered, and run when it wakes, after their clients gave up) for 40 s
 * while a worker joins the group: no event_id is stored twice and the hour
 * rollup counts exactly the events stored.
 * Runs against a ClickHouse engine of its own, which it stops and freezes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { canRunPrivate, privateService, type PrivateService } from '../testing/private-service.js';
import { testKafka, uncommittedRecords } from '../testing/kafka.js';
import { produceEvents } from '../testing/produce-events.js';
import { freePort, rssMb, sampleRss } from '../testing/processes.js';
import { Stack, flush, traffic, verify, type SentEvent } from '../testing/stack.js';
import { waitFor, waitUntil } from '../testing/wait-for.js';

/** A worker's resident memory bound under any backlog (docs: worker memory); see /work/notes/worker-proof.md for how it is made up. */
const WORKER_RSS_BOUND_MB = 512;
const ROUND_BYTES = 4 * 1024 * 1024;
const MINUTE = 60_000;

/** `traffic`, `minutes` later: one phase of the test after another, none late for the windows of the one before. */
const later = (events: SentEvent[], minutes: number) => events.map((e) => ({ ...e, timestamp: e.timestamp + minutes * MINUTE }));

describe.runIf(canRunPrivate('clickhouse'))('ClickHouse outage', () => {
  let clickhouse: PrivateService;
  const stack = new Stack();
  /** Every event sent so far, across the tests: verify compares the whole database with it. */
  const sent: SentEvent[] = [];

  beforeAll(async () => {
    clickhouse = await privateService('clickhouse');
    await clickhouse.start();
    await stack.start(2, { CLICKHOUSE_URL: clickhouse.address, CLICKHOUSE_USER: 'default', CLICKHOUSE_PASSWORD: '' });
  });
  afterAll(async () => {
    await clickhouse?.resume().catch(() => undefined);
    await stack.stop();
    await clickhouse?.remove();
  });

  it('holds and retries while ClickHouse is down, a backlog of many rounds within the memory bound, then stores everything exactly once', async () => {
    const phase = traffic(20_000, 1_000, 30, 17);
    // The backlog: the next 30 minutes of event time, straight to Kafka.
    const backlog = later(traffic(100_000, 1_000, 30, 19), 30);
    await stack.send(phase.slice(0, 10_000));
    await stack.waitUntilStoring(1_000);

    await clickhouse.stop();
    const rssBefore = await Promise.all(stack.workers.map((w) => rssMb(w.child.pid)));
    const sampler = sampleRss(stack.workers.map((w) => w.child.pid!));
    await stack.send(phase.slice(10_000)); // /track does not need ClickHouse
    // ...so the API stays ready (in its load balancer), reporting ClickHouse down on its operations port.
    const readiness = await waitFor(
      async () => {
        const response = await fetch(`${stack.opsBase}/readyz`);
        const body = (await response.json()) as { checks: { clickhouse: { ok: boolean } } };
        return body.checks.clickhouse.ok ? undefined : { status: response.status, body };
      },
      { what: 'readiness to report ClickHouse down' },
    );
    expect(readiness).toMatchObject({ status: 200, body: { status: 'ready', checks: { clickhouse: { ok: false, required: false } } } });
    expect(await (await fetch(`${stack.base}/readyz`)).json()).toEqual({ status: 'ready' });
    const kafka = testKafka(loadConfig(stack.env).kafka);
    // Each with a referrer, as web events carry: 300 bytes a record, so the backlog is many fetches' worth.
    const referrer = `https://shop.example/${'p'.repeat(180)}`;
    const produced = await produceEvents(
      kafka,
      stack.env.KAFKA_EVENTS_TOPIC!,
      stack.env.SCHEMA_REGISTRY_URL!,
      backlog.map((e) => ({ ...e, properties: { ...e.properties, referrer } })),
    );
    const lagDuring = await uncommittedRecords(kafka, stack.env.KAFKA_EVENTS_TOPIC!, stack.env.KAFKA_CONSUMER_GROUP!);
    await new Promise((resolve) => setTimeout(resolve, 30_000)); // the outage itself
    const rssPeak = await sampler.stop();
    const rssDuring = await Promise.all(stack.workers.map((w) => rssMb(w.child.pid)));
    await clickhouse.start();

    const figures = {
      backlogRecords: produced.records,
      backlogMb: Math.round(produced.bytes / 2 ** 20),
      backlogRounds: Math.ceil(produced.bytes / ROUND_BYTES),
      lagDuring,
      rssBeforeMb: rssBefore.map(Math.round),
      rssPeakDuringMb: rssPeak,
      rssAfter30sMb: rssDuring.map(Math.round),
    };
    console.log('[clickhouse outage]', JSON.stringify(figures));
    // Many rounds wait in Kafka, not in the workers.
    expect(produced.bytes).toBeGreaterThan(5 * ROUND_BYTES);
    expect(lagDuring).toBeGreaterThan(produced.records);
    expect(Math.max(...rssPeak)).toBeLessThan(WORKER_RSS_BOUND_MB);
    expect(stack.workers.every((w) => w.child.exitCode === null)).toBe(true);

    sent.push(...phase, ...backlog);
    await stack.send(flush(60));
    await verify(stack, sent);
  });

  it('stalled for 40 s while a worker joins the group: no event_id twice, the hour rollup counts exactly what is stored', async () => {
    // After the first test's flush events (70 minutes in): none of these is late.
    const phase = later(traffic(20_000, 1_000, 30, 23), 80);
    const storedBefore = await stack.count('SELECT count() AS n FROM events');
    await stack.send(phase.slice(0, 10_000));
    await stack.waitUntilStoring(storedBefore + 1_000);

    await clickhouse.pause();
    const stalledAt = Date.now();
    // A rebalance during the stall: a third worker joins while the two others' writes hang.
    const port = await freePort();
    const joining = stack.addWorker({ WORKER_HTTP_PORT: String(port) });
    await stack.send(phase.slice(10_000));
    await new Promise((resolve) => setTimeout(resolve, 40_000)); // the stall itself
    await clickhouse.resume();
    const stallSeconds = (Date.now() - stalledAt) / 1000;

    sent.push(...phase);
    await stack.send(later(flush(30), 80));
    await verify(stack, sent);
    // Over every event, the flush ones too: the rollup's events equal what `events` holds, once per id.
    const totals = await waitUntil(
      async () => ({
        rows: await stack.count('SELECT count() AS n FROM events'),
        ids: await stack.count('SELECT uniqExact(event_id) AS n FROM events'),
        hourRollup: await stack.count('SELECT sum(events) AS n FROM agg_user_activity_1h'),
      }),
      (t) => t.hourRollup === t.rows,
      { timeoutMs: 30_000, what: "the hour rollup's events equal to count() of events" },
    );
    // The rebalance did happen: the joining worker holds partitions of its own.
    const held = await waitUntil(
      async () => {
        const body = (await (await fetch(`http://127.0.0.1:${port}/topology`)).json()) as { windowed: Array<{ partitions: Array<{ partition: number }> }> };
        return body.windowed[0]!.partitions.map((p) => p.partition);
      },
      (partitions) => partitions.length > 0,
      { what: 'the joining worker holding partitions' },
    );
    // What the stall did to the writes in flight: the ClickHouse client's timeouts, as the workers logged them.
    const timeouts = stack.workers.map((w) => (w.output().match(/Timeout error/g) ?? []).length);
    console.log('[clickhouse stall]', JSON.stringify({ stallSeconds, ...totals, joinedWith: held, clickhouseTimeoutsLogged: timeouts }));
    expect(totals.rows).toBe(totals.ids);
    expect(joining.child.exitCode).toBeNull();
  });
});
