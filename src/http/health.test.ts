import { describe, expect, it } from 'vitest';
import { createHealthRoutes, createReadinessProbe, type ReadinessChecks } from './health.js';

/** Checks that count their runs; `kafka` fails with an error text that must stay off the public port. */
function countedChecks(kafkaOk: () => boolean) {
  const runs = { kafka: 0, clickhouse: 0 };
  const checks: ReadinessChecks = {
    required: {
      kafka: async () => {
        runs.kafka += 1;
        await new Promise((resolve) => setTimeout(resolve, 20));
        if (!kafkaOk()) throw new Error('broker kafka-0.internal:9092 refused');
      },
    },
    informational: { clickhouse: async () => void (runs.clickhouse += 1) },
  };
  return { runs, checks };
}

describe('/readyz', () => {
  it('probes the dependencies once for 500 concurrent requests', async () => {
    const { runs, checks } = countedChecks(() => true);
    const app = createHealthRoutes(createReadinessProbe(checks), { detail: false });
    const answers = await Promise.all(Array.from({ length: 500 }, () => app.request('/readyz')));
    expect(answers.every((a) => a.status === 200)).toBe(true);
    expect(runs.kafka).toBeLessThanOrEqual(2);
    expect(runs.clickhouse).toBeLessThanOrEqual(2);
  });

  it('answers from the last probe for a second, then probes again', async () => {
    let now = 1_000_000;
    let kafkaOk = true;
    const { runs, checks } = countedChecks(() => kafkaOk);
    const app = createHealthRoutes(createReadinessProbe(checks, { now: () => now }), { detail: false });
    expect((await app.request('/readyz')).status).toBe(200);
    kafkaOk = false;
    now += 999;
    expect((await app.request('/readyz')).status).toBe(200);
    expect(runs.kafka).toBe(1);
    now += 1;
    expect((await app.request('/readyz')).status).toBe(503);
    expect(runs.kafka).toBe(2);
  });

  it('tells clients the status alone, and the operations port every check with its error', async () => {
    const { checks } = countedChecks(() => false);
    const probe = createReadinessProbe(checks);
    const client = await createHealthRoutes(probe, { detail: false }).request('/readyz');
    expect(client.status).toBe(503);
    expect(await client.json()).toEqual({ status: 'unavailable' });
    const ops = await createHealthRoutes(probe, { detail: true }).request('/readyz');
    expect(ops.status).toBe(503);
    expect(await ops.json()).toEqual({
      status: 'unavailable',
      checks: { kafka: { ok: false, error: 'broker kafka-0.internal:9092 refused' }, clickhouse: { ok: true, required: false } },
    });
  });
});
