/**
 * GET /stats against ground truth at scale: 300,000 events of 2,000 users
 * over 20 days, folded by the real topologies (user-activity-1m and
 * user-sessions, in process, batch by batch as a worker would) and written by
 * the real sinks into the real ClickHouse engine; the hour and day rollups
 * come from its materialized views. Every answer is compared with counts
 * computed here from the events themselves.
 * (The same through Kafka and worker processes: e2e/windowed-aggregates.test.ts.)
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { inProcessApi, type InProcessApi } from '../../testing/api-under-test.js';
import { isolatedConfig } from '../../testing/test-config.js';
import { trackedEvent } from '../../testing/tracked-event.js';
import type { TrackedEvent } from '../model/event.js';
import { PartitionedWindows } from '../stream/partitioned-windows.js';
import { createClickHouse, type ClickHouseClient } from '../storage/clickhouse.js';
import { recordWatermarks, writeActivityResults, writeSessionResults } from '../storage/window-results.js';
import { userActivityTopology } from '../../topology/user-activity.js';
import { userSessionsTopology } from '../../topology/user-sessions.js';

const config = isolatedConfig(inject('services'));
const START = Date.parse('2026-02-01T00:00:00Z');
const DAY = 86_400_000;
const EVENTS = 300_000;
const USERS = 2_000;
const DAYS = 20;
/** Events come in bursts of this many of one user, 5.76 s apart. */
const BURST = 10;
const ACTIONS = ['view', 'click', 'buy'] as const;
const BATCH = 5_000;

/** Every user has bursts; users 0-49 have more (a top 5 that is not all ties). */
function userOf(burst: number): string {
  return `user_${burst % 7 === 0 ? burst % 50 : burst % USERS}`;
}

function makeEvent(i: number): TrackedEvent {
  return trackedEvent({
    project_id: 'default',
    user_id: userOf(Math.floor(i / BURST)),
    action: ACTIONS[(i * 7) % 3]!,
    timestamp: START + Math.floor((i / EVENTS) * DAYS * DAY),
  });
}

const events = Array.from({ length: EVENTS }, (_, i) => makeEvent(i));
let api: InProcessApi;
let clickhouse: ClickHouseClient;

/** Folds every event through both topologies in worker-sized batches and writes what they emit. */
async function runTopologies() {
  const activity = new PartitionedWindows(userActivityTopology(config.topology));
  const sessions = new PartitionedWindows(userSessionsTopology(config.topology));
  // One event well after the last closes every window (a real stream's later traffic).
  const closer = { ...makeEvent(0), user_id: 'closer', timestamp: START + (DAYS + 1) * DAY, received_at: START + (DAYS + 1) * DAY };
  const all = [...events, closer];
  for (let from = 0; from < all.length; from += BATCH) {
    const batch = all.slice(from, from + BATCH).map((event, i) => ({ event, offset: BigInt(from + i), replayed: false }));
    const [a, s] = [activity.process(0, batch, Date.now()), sessions.process(0, batch, Date.now())];
    await writeActivityResults(clickhouse, activity.topology.name, a.results, { retry: false, token: `stats-truth:${from}` });
    await writeSessionResults(clickhouse, sessions.topology.name, s.results);
  }
  await recordWatermarks(
    clickhouse,
    [activity, sessions].map((w) => ({ topology: w.topology.name, partition: 0, watermark: w.watermark(0), openWindows: 0, lateEvents: 0 })),
  );
}

beforeAll(async () => {
  api = await inProcessApi(config);
  clickhouse = createClickHouse(config.clickhouse);
  await runTopologies();
}, 600_000);
afterAll(async () => {
  await clickhouse?.close();
  await api?.close();
});

async function stats<T>(path: string): Promise<T> {
  const response = await api.app.request(path);
  expect(response.status, await response.clone().text()).toBe(200);
  return (await response.json()) as T;
}

function countBy<K>(list: TrackedEvent[], key: (e: TrackedEvent) => K): Map<K, number> {
  const counts = new Map<K, number>();
  for (const e of list) counts.set(key(e), (counts.get(key(e)) ?? 0) + 1);
  return counts;
}

const floorTo = (ms: number, size: number) => ms - (ms % size);
const iso = (ms: number) => new Date(ms).toISOString();
const USER = 'user_42';
const mine = events.filter((e) => e.user_id === USER);

interface Series {
  final: boolean;
  series: Array<{ start: string; events: number; actions?: Record<string, number> }>;
}

describe('GET /stats against ground truth: 300,000 events, 2,000 users, 20 days', () => {
  it("gives a user's daily series over the 20 days, final", async () => {
    const answer = await stats<Series>(`/stats/users/${USER}?granularity=1d&from=${iso(START)}&to=${iso(START + DAYS * DAY)}`);
    expect(answer.final).toBe(true);
    const truth = countBy(mine, (e) => floorTo(e.timestamp, DAY));
    expect(new Map(answer.series.map((p) => [Date.parse(p.start), p.events]))).toEqual(truth);
    expect(answer.series.reduce((sum, p) => sum + p.events, 0)).toBe(mine.length);
  });

  it("gives a user's hourly series split by action over a week", async () => {
    const [from, to] = [START + 3 * DAY, START + 10 * DAY];
    const answer = await stats<Series>(`/stats/users/${USER}?granularity=1h&split=action&from=${iso(from)}&to=${iso(to)}`);
    const inRange = mine.filter((e) => e.timestamp >= from && e.timestamp < to);
    const truth = new Map<number, Record<string, number>>();
    for (const e of inRange) {
      const hour = (truth.get(floorTo(e.timestamp, 3_600_000)) ?? {}) as Record<string, number>;
      hour[e.action] = (hour[e.action] ?? 0) + 1;
      truth.set(floorTo(e.timestamp, 3_600_000), hour);
    }
    expect(new Map(answer.series.map((p) => [Date.parse(p.start), p.actions]))).toEqual(truth);
  });

  it("gives a user's minute series over a day", async () => {
    const [from, to] = [START + 12 * DAY, START + 13 * DAY];
    const answer = await stats<Series>(`/stats/users/${USER}?granularity=1m&from=${iso(from)}&to=${iso(to)}`);
    const truth = countBy(mine.filter((e) => e.timestamp >= from && e.timestamp < to), (e) => floorTo(e.timestamp, 60_000));
    expect(new Map(answer.series.map((p) => [Date.parse(p.start), p.events]))).toEqual(truth);
  });

  it("gives a user's sessions: events split at gaps over 30 minutes, with their counts and durations", async () => {
    const [from, to] = [START, START + DAYS * DAY];
    const answer = await stats<{ sessions: Array<{ start: string; events: number; duration_ms: number; final: boolean }> }>(
      `/stats/users/${USER}/sessions?from=${iso(from)}&to=${iso(to)}`,
    );
    const sessions: TrackedEvent[][] = [];
    for (const e of mine) {
      const last = sessions.at(-1);
      if (last && e.timestamp - last.at(-1)!.timestamp <= config.topology.sessionGapMs) last.push(e);
      else sessions.push([e]);
    }
    expect(sessions.length).toBeGreaterThan(50);
    const truth = sessions.map((b) => ({ start: iso(b[0]!.timestamp), events: b.length, duration_ms: b.at(-1)!.timestamp - b[0]!.timestamp, final: true }));
    expect(answer.sessions.map(({ start, events: n, duration_ms, final }) => ({ start, events: n, duration_ms, final }))).toEqual(truth);
  });

  it('gives the overview of the 20 days: totals, top users and top actions', async () => {
    const answer = await stats<Record<string, unknown>>(`/stats/overview?top=5&from=${iso(START)}&to=${iso(START + DAYS * DAY)}`);
    const perUser = countBy(events, (e) => e.user_id);
    const perAction = countBy(events, (e) => e.action);
    const top = <K>(counts: Map<K, number>) => [...counts].sort(([a, x], [b, y]) => y - x || (String(a) < String(b) ? -1 : 1)).slice(0, 5);
    expect(answer).toMatchObject({
      events: EVENTS,
      unique_users: USERS,
      top_users: top(perUser).map(([user_id, n]) => ({ user_id, events: n })),
      top_actions: top(perAction).map(([action, n]) => ({ action, events: n })),
      final: true,
      late_events_dropped: 0,
    });
  });
});
