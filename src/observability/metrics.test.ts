import { describe, expect, it } from 'vitest';
import { createApiMetrics } from './metrics.js';

/** The value of one series in the registry's text exposition. */
async function value(metrics: ReturnType<typeof createApiMetrics>, series: string): Promise<number | undefined> {
  const text = await metrics.registry.metrics();
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.split(' ')[1]);
}

describe('tallied counters', () => {
  it('show every addition at the next scrape, by label, and count none twice', async () => {
    const metrics = createApiMetrics();
    metrics.eventsAccepted.add(2, 1);
    metrics.eventsAccepted.add(2, 99);
    metrics.eventsAccepted.add(3, 5);
    metrics.eventsRefused.add('missing', 1);
    expect(await value(metrics, 'streamtrack_events_accepted_total{schema_id="2",service="api"}')).toBe(100);
    expect(await value(metrics, 'streamtrack_events_accepted_total{schema_id="3",service="api"}')).toBe(5);
    expect(await value(metrics, 'streamtrack_events_refused_total{reason="missing",service="api"}')).toBe(1);

    // A second scrape with nothing new reads the same totals; then additions go on from them.
    expect(await value(metrics, 'streamtrack_events_accepted_total{schema_id="2",service="api"}')).toBe(100);
    metrics.eventsAccepted.add(2, 1);
    expect(await value(metrics, 'streamtrack_events_accepted_total{schema_id="2",service="api"}')).toBe(101);
  });
});
