/**
 * Kafka going away: POST /track answers 503 with Retry-After within seconds
 * (not a hang, not a 500) and accepts events again once the broker is back.
 * Runs against a broker of its own, started natively, which it stops and
 * restarts.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { inProcessApi } from '../testing/api-under-test.js';
import { readRecords, recordCount, testKafka } from '../testing/kafka.js';
import { canRunPrivate, privateService, type PrivateService } from '../testing/private-service.js';
import { isolatedConfig } from '../testing/test-config.js';
import { acceptedIds } from '../testing/track-client.js';
import { waitFor } from '../testing/wait-for.js';

describe.runIf(canRunPrivate('kafka'))('Kafka outage', () => {
  let broker: PrivateService;
  let api: Awaited<ReturnType<typeof inProcessApi>>;

  beforeAll(async () => {
    broker = await privateService('kafka');
    await broker.start();
    api = await inProcessApi(
      isolatedConfig(inject('services'), { KAFKA_BROKERS: broker.address, ...broker.clientEnv(), API_PUBLISH_TIMEOUT_MS: '3000' }),
    );
  });
  afterAll(async () => {
    await api?.close();
    await broker?.remove();
  });

  const track = (action: string) =>
    api.app.request('/track', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ user_id: 'outage_user', action }),
    });

  it('answers 503 within seconds while Kafka is down and 202 again once it is back', async () => {
    expect((await track('before')).status).toBe(202);

    await broker.stop();
    const started = Date.now();
    const during = await track('during');
    const elapsed = Date.now() - started;
    expect(during.status).toBe(503);
    expect(during.headers.get('retry-after')).toBe('5');
    expect(await during.json()).toMatchObject({ error: { code: 'kafka_unavailable' } });
    expect(elapsed).toBeLessThan(5_000);

    await broker.start();
    const after = await waitFor(
      async () => {
        const response = await track('after');
        return response.status === 202 ? response : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 500, what: 'POST /track accepted again' },
    );
    const [event_id] = await acceptedIds(after);

    // Every accepted event is on Kafka (a refused one may be too: the client retries with its event_id).
    const kafka = testKafka(api.config.kafka);
    const records = await readRecords(kafka, api.topic, await recordCount(kafka, api.topic));
    const ids = await Promise.all(records.map(async (r) => ((await api.registry.decode(r.value)) as { event_id: string }).event_id));
    expect(ids).toContain(event_id);
  });
});
