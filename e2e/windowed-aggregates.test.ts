/**
 * The windowed topologies end to end, against ground truth computed from the
 * events the test sent: per-user, per-minute counts in ClickHouse equal the
 * truth exactly, the hour and day rollups too, and the raw row count equals
 * N; then the same after a worker is killed with SIGKILL mid-stream, and
 * after one is stopped with SIGTERM during a batch. Each run prints events
 * lost, duplicated raw rows and over-counted aggregates (all must be 0).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Stack, flush, traffic, verify } from '../testing/stack.js';

const START_ISO = '2026-01-01T00:00:00Z';

describe('windowed aggregates, exact against ground truth', () => {
  const stack = new Stack();
  beforeAll(() => stack.start(3));
  afterAll(() => stack.stop());

  it('3 workers, 100,000 events: per-user per-minute counts, rollups and raw rows equal the truth', async () => {
    const sent = traffic(100_000, 2_000, 60, 7);
    await stack.send(sent);
    await stack.send(flush(60));
    await verify(stack, sent);
  });

  it('GET /stats answers from those tables what the truth says, final and cacheable', async () => {
    const sent = traffic(100_000, 2_000, 60, 7); // the events of the test above
    const range = `from=${START_ISO}&to=2026-01-01T01:00:00Z`;
    const user = 'user_42';
    const mine = sent.filter((e) => e.user_id === user);
    const perMinute = new Map<number, number>();
    for (const e of mine) perMinute.set(e.timestamp - (e.timestamp % 60_000), (perMinute.get(e.timestamp - (e.timestamp % 60_000)) ?? 0) + 1);

    const minutes = (await (await fetch(`${stack.base}/stats/users/${user}?granularity=1m&${range}`)).json()) as {
      final: boolean;
      series: Array<{ start: string; events: number; final: boolean }>;
    };
    expect(minutes.final).toBe(true);
    expect(new Map(minutes.series.map((p) => [Date.parse(p.start), p.events]))).toEqual(perMinute);

    const hourly = await fetch(`${stack.base}/stats/users/${user}?granularity=1h&split=action&${range}`);
    expect(hourly.headers.get('cache-control')).toBe('public, max-age=300');
    const hour = (await hourly.json()) as { series: Array<{ events: number; actions: Record<string, number> }>; late_events_dropped: number };
    expect(hour.series).toHaveLength(1);
    expect(hour.series[0]!.events).toBe(mine.length);
    expect(hour.series[0]!.actions).toEqual(Object.fromEntries(['buy', 'click', 'view'].map((a) => [a, mine.filter((e) => e.action === a).length]).filter(([, n]) => n)));
    expect(hour.late_events_dropped).toBe(0);
    const again = await fetch(`${stack.base}/stats/users/${user}?granularity=1h&split=action&${range}`, { headers: { 'if-none-match': hourly.headers.get('etag')! } });
    expect(again.status).toBe(304);

    const perUser = new Map<string, number>();
    for (const e of sent) perUser.set(e.user_id, (perUser.get(e.user_id) ?? 0) + 1);
    const topTruth = [...perUser].sort(([a, x], [b, y]) => y - x || (a < b ? -1 : 1)).slice(0, 5).map(([user_id, events]) => ({ user_id, events }));
    const overview = (await (await fetch(`${stack.base}/stats/overview?top=5&${range}`)).json()) as Record<string, unknown>;
    expect(overview).toMatchObject({ events: sent.length, unique_users: perUser.size, top_users: topTruth, final: true, late_events_dropped: 0 });
  });
});

describe('a worker killed with SIGKILL mid-stream', () => {
  const stack = new Stack();
  beforeAll(() => stack.start(2));
  afterAll(() => stack.stop());

  it('loses and double-counts nothing once a new worker takes over', async () => {
    const sent = traffic(30_000, 1_000, 30, 11);
    await stack.send(sent.slice(0, 15_000));
    await stack.waitUntilStoring(2_000);
    await stack.workers[0]!.stop('SIGKILL');
    await stack.send(sent.slice(15_000));
    stack.addWorker();
    await stack.send(flush(30));
    await verify(stack, sent);
  });
});

describe('a worker stopped with SIGTERM during a batch', () => {
  const stack = new Stack();
  beforeAll(() => stack.start(2));
  afterAll(() => stack.stop());

  it('finishes, commits and leaves the group within 25 s, and nothing is lost or double-counted', async () => {
    const sent = traffic(30_000, 1_000, 30, 13);
    await stack.send(sent.slice(0, 15_000));
    await stack.waitUntilStoring(2_000);
    const stopping = Date.now();
    const code = await stack.workers[0]!.stop('SIGTERM');
    const shutdownSeconds = (Date.now() - stopping) / 1000;
    console.log('[windowed aggregates] SIGTERM shutdown seconds', shutdownSeconds);
    expect(code).toBe(0);
    expect(shutdownSeconds).toBeLessThan(25);
    await stack.send(sent.slice(15_000));
    await stack.send(flush(30));
    await verify(stack, sent);
  });
});
