/**
 * ClickHouse stopped for 30 s under load: ingestion goes on (the API never
 * waits on the database), the workers hold their batches and retry with
 * backoff, consumer lag grows, worker memory stays bounded, and once
 * ClickHouse is back everything lands, exactly once. Runs against a
 * ClickHouse engine of its own, which it stops and restarts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { canRunPrivate, privateService, type PrivateService } from '../testing/private-service.js';
import { testKafka, uncommittedRecords } from '../testing/kafka.js';
import { rssMb } from '../testing/processes.js';
import { Stack, flush, traffic, verify } from '../testing/stack.js';
import { waitFor } from '../testing/wait-for.js';

describe.runIf(canRunPrivate('clickhouse'))('ClickHouse outage', () => {
  let clickhouse: PrivateService;
  const stack = new Stack();

  beforeAll(async () => {
    clickhouse = await privateService('clickhouse');
    await clickhouse.start();
    await stack.start(2, { CLICKHOUSE_URL: clickhouse.address, CLICKHOUSE_USER: 'default', CLICKHOUSE_PASSWORD: '' });
  });
  afterAll(async () => {
    await stack.stop();
    await clickhouse?.remove();
  });

  it('holds and retries while ClickHouse is down, then stores everything exactly once', async () => {
    const sent = traffic(20_000, 1_000, 30, 17);
    await stack.send(sent.slice(0, 10_000));
    await stack.waitUntilStoring(1_000);

    await clickhouse.stop();
    const rssBefore = await Promise.all(stack.workers.map((w) => rssMb(w.child.pid)));
    await stack.send(sent.slice(10_000)); // /track does not need ClickHouse
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
    const lagDuring = await uncommittedRecords(testKafka(loadConfig(stack.env).kafka), stack.env.KAFKA_EVENTS_TOPIC!, stack.env.KAFKA_CONSUMER_GROUP!);
    await new Promise((resolve) => setTimeout(resolve, 30_000)); // the outage itself
    const rssDuring = await Promise.all(stack.workers.map((w) => rssMb(w.child.pid)));
    await clickhouse.start();

    console.log('[clickhouse outage]', JSON.stringify({ lagDuring, rssBeforeMb: rssBefore.map(Math.round), rssAfter30sMb: rssDuring.map(Math.round) }));
    expect(lagDuring).toBeGreaterThan(0);
    expect(Math.max(...rssDuring)).toBeLessThan(512);
    expect(stack.workers.every((w) => w.child.exitCode === null)).toBe(true);

    await stack.send(flush(30));
    await verify(stack, sent);
  });
});
