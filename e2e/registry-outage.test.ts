/**
 * The Schema Registry going away: a running API keeps accepting events with
 * the schemas it has cached; an API started while the registry is down
 * answers 503 with Retry-After, not 500 (against a registry of its own,
 * started natively, which it stops). A worker that cannot reach the registry
 * while records arrive whose schema it has not cached holds them and
 * dead-letters nothing; once the registry is back every event is stored
 * once (the worker reaches the shared registry through a proxy the test
 * cuts).
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { deadLetterTopic } from '../src/kafka/dead-letters.js';
import { inProcessApi, type InProcessApi } from '../testing/api-under-test.js';
import { recordCount, testKafka, uncommittedRecords } from '../testing/kafka.js';
import { canRunPrivate, privateService, type PrivateService } from '../testing/private-service.js';
import { freePort } from '../testing/processes.js';
import { Stack } from '../testing/stack.js';
import { tcpProxy, type TcpProxy } from '../testing/tcp-proxy.js';
import { isolatedConfig } from '../testing/test-config.js';
import { waitUntil } from '../testing/wait-for.js';

describe.runIf(canRunPrivate('schema-registry'))('Schema Registry outage', () => {
  let registry: PrivateService;
  let running: InProcessApi;
  let restarted: InProcessApi | undefined;
  let config: ReturnType<typeof isolatedConfig>;

  beforeAll(async () => {
    registry = await privateService('schema-registry');
    await registry.start();
    config = isolatedConfig(inject('services'), { SCHEMA_REGISTRY_URL: registry.address, SCHEMA_REFRESH_MS: '100' });
    running = await inProcessApi(config);
  });
  afterAll(async () => {
    await Promise.all([running?.close(), restarted?.close()]);
    await registry?.remove();
  });

  const track = (api: InProcessApi, action: string) =>
    api.app.request('/track', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ user_id: 'registry_outage', action }),
    });

  it('keeps accepting with cached schemas; a fresh start without the registry answers 503', async () => {
    expect((await track(running, 'before')).status).toBe(202);
    await registry.stop();

    // Several refresh intervals pass with the registry down: the cached latest schema stays in use.
    for (let i = 0; i < 5; i++) {
      const during = await track(running, `during_${i}`);
      expect(during.status).toBe(202);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }

    restarted = await inProcessApi(config, { prepare: false });
    const fresh = await track(restarted, 'after_restart');
    expect(fresh.status).toBe(503);
    expect(fresh.headers.get('retry-after')).toBe('5');
    expect(await fresh.json()).toMatchObject({ error: { code: 'schema_registry_unavailable' } });
  });
});

describe('the Schema Registry unreachable from a worker while records arrive', () => {
  const stack = new Stack();
  let proxy: TcpProxy;
  beforeAll(async () => {
    await stack.start(0);
    proxy = await tcpProxy(stack.env.SCHEMA_REGISTRY_URL!);
  });
  afterAll(async () => {
    await stack.stop();
    await proxy?.close();
  });

  /** `version`: the schema version the API encodes with (it reaches the registry directly). */
  const send = async (actions: string[], version: 1 | 2) => {
    const body = actions.flatMap((action) => Array.from({ length: 50 }, (_, i) => ({ user_id: `user_${i}`, action })));
    const response = await fetch(`${stack.base}/track`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-schema-version': String(version) },
      body: JSON.stringify(body),
    });
    expect(response.status).toBe(202);
    return body.length;
  };
  const stored = () => stack.count('SELECT count() AS n FROM events');

  it('dead-letters nothing, holds the records, and stores every event once after the registry returns', async () => {
    const port = await freePort();
    // Schemas registered by init: the worker need not reach the registry to start.
    const worker = stack.addWorker({ SCHEMA_REGISTRY_URL: proxy.url, SCHEMAS_REGISTER_ON_START: 'false', WORKER_HTTP_PORT: String(port) });
    let sent = await send(['before'], 2);
    await waitUntil(stored, (n) => n === sent, { timeoutMs: 60_000, what: 'the events before the outage stored' });

    await proxy.cut();
    const cutAt = Date.now();
    // v1 frames carry a schema id this worker has not seen: it must ask the registry. v2 ones ride in the same partitions.
    for (let i = 0; i < 5; i++) sent += (await send([`during_v1_${i}`], 1)) + (await send([`during_v2_${i}`], 2));
    // The worker tries, fails, and keeps the records: nothing stored, nothing dead-lettered, the group's lag holds them.
    // Each failed attempt is logged with the decoder's reason.
    const failures = () => worker.output().split('\n').filter((line) => line.includes('schema registry unavailable')).length;
    await waitUntil(failures, (n) => n >= 1, { timeoutMs: 60_000, what: 'the worker failing to reach the registry' });
    const firstFailures = failures();
    // More records arrive while it retries with backoff.
    for (let i = 5; i < 10; i++) sent += (await send([`during_v1_${i}`], 1)) + (await send([`during_v2_${i}`], 2));
    await new Promise((resolve) => setTimeout(resolve, 5_000)); // the outage itself
    expect(failures()).toBeGreaterThan(firstFailures);
    const kafka = testKafka(loadConfig(stack.env).kafka);
    const during = {
      stored: await stored(),
      lag: await uncommittedRecords(kafka, stack.env.KAFKA_EVENTS_TOPIC!, stack.env.KAFKA_CONSUMER_GROUP!),
      deadLetters: await recordCount(kafka, deadLetterTopic(stack.env.KAFKA_EVENTS_TOPIC!)),
    };
    expect(during).toMatchObject({ stored: 50, deadLetters: 0 });
    expect(during.lag).toBeGreaterThanOrEqual(sent - 50);
    expect(worker.child.exitCode).toBeNull();

    await proxy.restore();
    const outageSeconds = (Date.now() - cutAt) / 1000;
    await waitUntil(stored, (n) => n >= sent, { timeoutMs: 60_000, what: `all ${sent} events stored` });
    const after = {
      rows: await stored(),
      distinct: await stack.count('SELECT uniqExact(event_id) AS n FROM events'),
      v1: await stack.count(`SELECT count() AS n FROM events WHERE action LIKE 'during_v1_%'`),
      deadLetters: await recordCount(kafka, deadLetterTopic(stack.env.KAFKA_EVENTS_TOPIC!)),
    };
    console.log('[registry outage in the worker]', JSON.stringify({ sent, during, after, outageSeconds, failedAttempts: failures() }));
    expect(after).toEqual({ rows: sent, distinct: sent, v1: 500, deadLetters: 0 });
  });
});
