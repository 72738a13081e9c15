/**
 * SIGTERM ends a worker within WORKER_SHUTDOWN_GRACE_MS whatever its round
 * is doing: here it is stuck retrying while its ClickHouse refuses
 * connections. It commits what finished, leaves the rest to the next owner,
 * leaves the group and exits; a new worker then finishes the stream with 0
 * lost, 0 duplicated, 0 mis-counted. Runs against a ClickHouse engine of its
 * own, which it stops and restarts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canRunPrivate, privateService, type PrivateService } from '../testing/private-service.js';
import { Stack, flush, traffic, verify } from '../testing/stack.js';
import { waitFor } from '../testing/wait-for.js';

const GRACE_MS = 8_000;

describe.runIf(canRunPrivate('clickhouse'))('SIGTERM while ClickHouse is unavailable', () => {
  let clickhouse: PrivateService;
  const stack = new Stack();

  beforeAll(async () => {
    clickhouse = await privateService('clickhouse');
    await clickhouse.start();
    await stack.start(1, {
      CLICKHOUSE_URL: clickhouse.address,
      CLICKHOUSE_USER: 'default',
      CLICKHOUSE_PASSWORD: '',
      WORKER_SHUTDOWN_GRACE_MS: String(GRACE_MS),
    });
  });
  afterAll(async () => {
    await stack.stop();
    await clickhouse?.remove();
  });

  it('ends the worker within the grace, and a new worker finishes with nothing lost or counted twice', async () => {
    const sent = traffic(8_000, 500, 20, 41);
    await stack.send(sent.slice(0, 4_000));
    await stack.waitUntilStoring(500);

    await clickhouse.stop();
    await stack.send(sent.slice(4_000));
    const worker = stack.workers[0]!;
    await waitFor(() => (worker.output().includes('retrying') ? true : undefined), { timeoutMs: 60_000, what: 'the worker retrying a step against the stopped ClickHouse' });

    const signalledAt = Date.now();
    const code = await worker.stop('SIGTERM');
    const exitMs = Date.now() - signalledAt;
    console.log('[worker shutdown]', JSON.stringify({ exitMs, code, graceMs: GRACE_MS }));
    expect(exitMs).toBeLessThan(GRACE_MS);
    expect(code).toBe(0);

    await clickhouse.start();
    stack.addWorker();
    await stack.send(flush(20));
    await verify(stack, sent);
  });
});
