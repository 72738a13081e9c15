/**
 * A round ClickHouse refuses for its data never stalls a partition: one
 * request of 101 events in 101 different months (more partitions than
 * `max_partitions_per_insert_block` allows in one insert) is split until
 * ClickHouse takes it, rows it refuses on their own go to the dead-letter
 * topic, and a later event of the same partition is queryable within 10 s.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { deadLetterTopic } from '../src/kafka/dead-letters.js';
import { readRecords, testKafka } from '../testing/kafka.js';
import { Stack } from '../testing/stack.js';
import { acceptedIds } from '../testing/track-client.js';
import { waitFor } from '../testing/wait-for.js';

const stack = new Stack();
// Timestamps up to nine years old: allowed by an ingest horizon this wide.
beforeAll(() => stack.start(1, { API_MAX_PAST_MS: String(20 * 365 * 86_400_000) }));
afterAll(() => stack.stop());

async function track(body: unknown): Promise<string[]> {
  const response = await fetch(`${stack.base}/track`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  expect(response.status).toBe(202);
  return acceptedIds(response);
}

describe('an insert spanning 101 months', () => {
  it('is stored or quarantined, and a later event of the same partition is queryable within 10 s', async () => {
    const user = 'one_hundred_and_one_months';
    const months = Array.from({ length: 101 }, (_, i) => ({ user_id: user, action: 'monthly', timestamp: Date.UTC(2018, i, 15) }));
    const ids = await track(months);
    expect(ids).toHaveLength(101);

    const posted = Date.now();
    const [later] = await track({ user_id: user, action: 'later' }); // keyed by user: the same partition
    await waitFor(async () => ((await stack.count(`SELECT count() AS n FROM events WHERE event_id = '${later}'`)) === 1 ? true : undefined), {
      timeoutMs: 10_000,
      intervalMs: 50,
      what: 'the later event of the same partition queryable',
    });
    const seconds = (Date.now() - posted) / 1000;

    const stored = await stack.count(`SELECT count() AS n FROM events WHERE user_id = '${user}' AND action = 'monthly'`);
    const quarantined = stored < 101 ? await readRecords(testKafka(loadConfig(stack.env).kafka), deadLetterTopic(stack.env.KAFKA_EVENTS_TOPIC!), 101 - stored) : [];
    console.log('[refused inserts]', JSON.stringify({ stored, quarantined: quarantined.length, laterQueryableSeconds: seconds }));
    expect(stored + quarantined.length).toBe(101);
    expect(quarantined.every((r) => r.headers['streamtrack.dlq.reason']?.startsWith('refused by ClickHouse: '))).toBe(true);

    // The windows took the round too: the hour rollup counts what `events` holds.
    await waitFor(
      async () => {
        const rolled = await stack.count(`SELECT sum(events) AS n FROM agg_user_activity_1h WHERE user_id = '${user}'`);
        return rolled === stored + 1 ? true : undefined;
      },
      { timeoutMs: 30_000, what: 'the hour rollup counting every stored event of the user' },
    );
  });
});
