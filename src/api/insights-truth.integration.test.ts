/**
 * GET /insights against ground truth: about 20,000 events of 400 users over
 * 14 days (visits of a few events seconds apart, so minute windows are
 * revised across batches), folded by the real topologies in process and
 * written by the real sinks, raw events by the worker's insert; the rollups
 * come from the migrations' views. Then a batch is replayed, a stale window
 * result is written again (a retried write), and late events (day 2, after
 * the watermark passed day 14) are stored, recorded late and dropped by the
 * windows. Every answer is compared with figures computed here from the
 * events sent:
 *   - trends count and sum exact, uniques within 1%, quantiles within the
 *     t-digest's error, across 1m/1h/1d buckets and unaligned ranges;
 *   - funnels (windowFunnel's walk, written out below) and retention exact.
 * Window measures (counts, uniques, funnels, retention, sessions) leave the
 * dropped late events out; numeric measures read the stored events, late
 * ones included (migration 0014).
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { inProcessApi, type InProcessApi } from '../../testing/api-under-test.js';
import { isolatedConfig } from '../../testing/test-config.js';
import { messageDefaults, type TrackedEvent } from '../model/event.js';
import { createClickHouse, type ClickHouseClient } from '../storage/clickhouse.js';
import { storeAndFold } from '../../testing/windowed-load.js';

const config = isolatedConfig(inject('services'));
/** A Monday. */
const START = Date.parse('2026-03-02T00:00:00Z');
const DAY = 86_400_000;
const HOUR = 3_600_000;
const DAYS = 14;
const USERS = 400;

/** Deterministic, so a failure can be replayed. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const rand = random(22);
const pick = <T>(list: readonly T[]): T => list[Math.floor(rand() * list.length)]!;

function event(user: string, action: string, timestamp: number, properties: TrackedEvent['properties'], receivedAt = timestamp): TrackedEvent {
  return {
    event_id: randomUUID(),
    project_id: 'default',
    user_id: user,
    action,
    timestamp,
    sent_at: null,
    received_at: receivedAt,
    session_id: null,
    properties,
    context: null,
    warnings: [],
    ...messageDefaults(),
  };
}

const amount = () => Math.floor(rand() * 50_000) / 100 + 1;

/** Each user: maybe a signup, then visits of views, sometimes a cart and a buy. */
function userEvents(u: number): TrackedEvent[] {
  const user = `user_${u}`;
  const plan = rand() < 0.3 ? 'pro' : 'free';
  const list: TrackedEvent[] = [];
  if (rand() < 0.8) list.push(event(user, 'signup', START + Math.floor(rand() * 10 * DAY), { plan }));
  const visits = 1 + Math.floor(rand() * 8);
  for (let v = 0; v < visits; v++) {
    let at = START + Math.floor(rand() * (DAYS * DAY - HOUR));
    const views = 1 + Math.floor(rand() * 6);
    for (let i = 0; i < views; i++) {
      list.push(event(user, 'view', at, { plan, page: pick(['/', '/pricing', '/docs']) }));
      at += 5_000 + Math.floor(rand() * 35_000);
    }
    if (rand() < 0.4) {
      list.push(event(user, 'cart', at, { plan, amount: amount() }));
      at += 10_000 + Math.floor(rand() * 600_000);
      if (rand() < 0.6) list.push(event(user, 'buy', at, { plan, amount: amount(), first: rand() < 0.5 }));
    }
  }
  return list;
}

const sent = Array.from({ length: USERS }, (_, u) => userEvents(u))
  .flat()
  .sort((a, b) => a.timestamp - b.timestamp);
/** Well after the rest: closes every window, as a real stream's later traffic would. */
const closer = event('closer', 'view', START + (DAYS + 1) * DAY, {});
/** Day 2's, arriving once the watermark is past day 15: late for both topologies, dropped. */
const late = Array.from({ length: 30 }, (_, i) =>
  event(`user_${i * 7}`, i % 2 ? 'view' : 'buy', START + 2 * DAY + i * 61_000, { plan: 'free', amount: 7 + i }, closer.timestamp + 60_000),
);
/** What the windows count: everything sent but the late events. */
const counted = sent;
/** What the raw events table holds in the range. */
const stored = [...sent, ...late];

let api: InProcessApi;
let clickhouse: ClickHouseClient;

beforeAll(async () => {
  api = await inProcessApi(config);
  clickhouse = createClickHouse(config.clickhouse);
  const { late: dropped } = await storeAndFold(config, clickhouse, [...sent, closer, ...late], { replayRound: 5 });
  expect(dropped).toBe(late.length);
}, 600_000);
afterAll(async () => {
  await clickhouse?.close();
  await api?.close();
});

async function get<T>(path: string): Promise<T> {
  const response = await api.app.request(path);
  expect(response.status, await response.clone().text()).toBe(200);
  return (await response.json()) as T;
}

const iso = (ms: number) => new Date(ms).toISOString();
const floorTo = (ms: number, size: number) => ms - (ms % size);
const within = (from: number, to: number) => (e: TrackedEvent) => e.timestamp >= from && e.timestamp < to;

interface Trend {
  final: boolean;
  late_events_dropped: number;
  series: Array<{ key: string | null; points: Array<{ t: string; value: number; final: boolean }> }>;
  uniques_error?: string;
}

/** The answer as key -> (bucket ms -> value), zeros dropped. */
function seriesMap(answer: Trend): Map<string | null, Map<number, number>> {
  return new Map(answer.series.map((s) => [s.key, new Map(s.points.filter((p) => p.value !== 0).map((p) => [Date.parse(p.t), p.value]))]));
}

/** Ground truth of a trend: group events by bucket and key, measure each group. */
function truth(
  events: TrackedEvent[],
  step: number,
  keyOf: (e: TrackedEvent) => string | null,
  measure: (group: TrackedEvent[]) => number,
): Map<string | null, Map<number, number>> {
  const groups = new Map<string | null, Map<number, TrackedEvent[]>>();
  for (const e of events) {
    const byBucket = groups.get(keyOf(e)) ?? new Map<number, TrackedEvent[]>();
    const bucket = floorTo(e.timestamp, step);
    byBucket.set(bucket, [...(byBucket.get(bucket) ?? []), e]);
    groups.set(keyOf(e), byBucket);
  }
  return new Map([...groups].map(([key, byBucket]) => [key, new Map([...byBucket].map(([t, group]) => [t, measure(group)]))]));
}

/** The top `n` keys by `rank` over all events; the rest are `$other`. */
function topKeys(events: TrackedEvent[], key: (e: TrackedEvent) => string, n: number, rank: (group: TrackedEvent[]) => number): (e: TrackedEvent) => string {
  const groups = new Map<string, TrackedEvent[]>();
  for (const e of events) groups.set(key(e), [...(groups.get(key(e)) ?? []), e]);
  const top = new Set([...groups].sort(([a, x], [b, y]) => rank(y) - rank(x) || (a < b ? -1 : 1)).slice(0, n).map(([k]) => k));
  return (e) => (top.has(key(e)) ? key(e) : '$other');
}

const count = (group: TrackedEvent[]) => group.length;
const uniques = (group: TrackedEvent[]) => new Set(group.map((e) => e.user_id)).size;
const amountsOf = (group: TrackedEvent[]) => group.flatMap((e) => (typeof e.properties.amount === 'number' ? [e.properties.amount] : []));
const sum = (group: TrackedEvent[]) => amountsOf(group).reduce((s, v) => s + v, 0);

/** Interpolated quantile (quantileExactInclusive). */
function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const h = (sorted.length - 1) * q;
  const low = Math.floor(h);
  return sorted[low]! + (h - low) * ((sorted[low + 1] ?? sorted[low]!) - sorted[low]!);
}

function expectClose(actual: Map<string | null, Map<number, number>>, expected: Map<string | null, Map<number, number>>, tolerance: (v: number) => number) {
  expect([...actual.keys()].sort()).toEqual([...expected.keys()].sort());
  for (const [key, points] of expected) {
    const got = actual.get(key)!;
    expect([...got.keys()].sort(), `buckets of ${key}`).toEqual([...points.keys()].sort());
    for (const [t, v] of points) expect(Math.abs(got.get(t)! - v), `${key} at ${iso(t)}: ${got.get(t)} vs ${v}`).toBeLessThanOrEqual(tolerance(v));
  }
}

describe('trends against ground truth', () => {
  it('counts events per hour by action over 7 unaligned days, top 2 and $other, exactly, final', async () => {
    const [from, to] = [START + DAY + 5 * HOUR, START + 8 * DAY + 5 * HOUR];
    const answer = await get<Trend>(`/insights/trends?from=${iso(from)}&to=${iso(to)}&granularity=1h&breakdown=action&top=2`);
    expect(answer.final).toBe(true);
    expect(answer.late_events_dropped).toBe(late.length);
    const inRange = counted.filter(within(from, to));
    expect(seriesMap(answer)).toEqual(truth(inRange, HOUR, topKeys(inRange, (e) => e.action, 2, count), count));
    expect(answer.series.at(-1)!.key).toBe('$other');
    // Zero-filled: every hour of the range, each final.
    expect(answer.series[0]!.points).toHaveLength(7 * 24);
    expect(answer.series.every((s) => s.points.every((p) => p.final))).toBe(true);
  });

  it('counts one action per day and per minute exactly', async () => {
    const daily = await get<Trend>(`/insights/trends?from=${iso(START)}&to=${iso(START + DAYS * DAY)}&granularity=1d&action=buy&action=cart`);
    const both = counted.filter((e) => e.action === 'buy' || e.action === 'cart');
    expect(seriesMap(daily)).toEqual(truth(both, DAY, () => null, count));
    const [from, to] = [START + 3 * DAY + 7 * HOUR, START + 4 * DAY + 2 * HOUR];
    const minutes = await get<Trend>(`/insights/trends?from=${iso(from)}&to=${iso(to)}&granularity=1m`);
    expect(seriesMap(minutes)).toEqual(truth(counted.filter(within(from, to)), 60_000, () => null, count));
  });

  it('counts unique users per hour by action and per day over all actions, within the documented error', async () => {
    const [from, to] = [START, START + 7 * DAY];
    const hourly = await get<Trend>(`/insights/trends?from=${iso(from)}&to=${iso(to)}&granularity=1h&measure=uniques&breakdown=action&top=10`);
    expect(hourly.uniques_error).toMatch(/uniqCombined/);
    const inRange = counted.filter(within(from, to));
    expectClose(seriesMap(hourly), truth(inRange, HOUR, (e) => e.action, uniques), (v) => v * 0.01);
    const daily = await get<Trend>(`/insights/trends?from=${iso(START)}&to=${iso(START + DAYS * DAY)}&granularity=1d&measure=uniques`);
    expectClose(seriesMap(daily), truth(counted, DAY, () => null, uniques), (v) => v * 0.01);
  });

  it('sums, averages, bounds and quantiles a numeric property from the rollups (stored events, late ones included)', async () => {
    const range = `from=${iso(START)}&to=${iso(START + DAYS * DAY)}`;
    const hourly = await get<Trend>(`/insights/trends?${range}&granularity=1h&measure=sum&property=amount&breakdown=action`);
    expectClose(seriesMap(hourly), truth(stored.filter((e) => amountsOf([e]).length > 0), HOUR, (e) => e.action, sum), () => 1e-6);
    const withAmount = stored.filter((e) => amountsOf([e]).length > 0);
    for (const [measure, of] of [
      ['avg', (g: TrackedEvent[]) => sum(g) / amountsOf(g).length],
      ['min', (g: TrackedEvent[]) => Math.min(...amountsOf(g))],
      ['max', (g: TrackedEvent[]) => Math.max(...amountsOf(g))],
    ] as const) {
      const daily = await get<Trend>(`/insights/trends?${range}&granularity=1d&measure=${measure}&property=amount`);
      expectClose(seriesMap(daily), truth(withAmount, DAY, () => null, of), () => 1e-6);
    }
    // A t-digest's quantile: within 5% of the values' range of the exact one.
    for (const [measure, q] of [['p50', 0.5], ['p90', 0.9]] as const) {
      const daily = await get<Trend>(`/insights/trends?${range}&granularity=1d&measure=${measure}&property=amount`);
      expectClose(seriesMap(daily), truth(withAmount, DAY, () => null, (g) => quantile(amountsOf(g), q)), () => 0.05 * 500);
    }
  });

  it('filters on a property and breaks down by another from raw events, late events left out', async () => {
    const [from, to] = [START + DAY, START + 4 * DAY];
    const answer = await get<Trend>(`/insights/trends?from=${iso(from)}&to=${iso(to)}&granularity=1h&where=plan:free&breakdown=property:page&top=2`);
    const inRange = counted.filter(within(from, to)).filter((e) => e.properties.plan === 'free');
    const page = (e: TrackedEvent) => (typeof e.properties.page === 'string' ? e.properties.page : '$none');
    expect(seriesMap(answer)).toEqual(truth(inRange, HOUR, topKeys(inRange, page, 2, count), count));
    const sums = await get<Trend>(`/insights/trends?from=${iso(from)}&to=${iso(from + DAY)}&granularity=1m&measure=sum&property=amount&action=buy&where=first:true`);
    const buys = counted.filter(within(from, from + DAY)).filter((e) => e.action === 'buy' && e.properties.first === true);
    expectClose(seriesMap(sums), truth(buys, 60_000, () => null, sum), () => 1e-6);
  });
});

interface Funnel {
  final: boolean;
  steps: Array<{ action: string; users: number; conversion_from_first: number; conversion_from_previous: number; median_seconds_to_convert: number | null }>;
  breakdown?: Array<{ key: string; steps: Funnel['steps'] }>;
}

/** windowFunnel's walk for one user: the level reached and, per step, the time the first chain to reach it took. */
function walk(events: TrackedEvent[], steps: Array<(e: TrackedEvent) => boolean>, windowMs: number): { level: number; took: number[] } {
  const entries = events.flatMap((e) => steps.flatMap((matches, i) => (matches(e) ? [[e.timestamp, i] as const] : []))).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const starts = steps.map(() => -1);
  const took = steps.map(() => -1);
  for (const [t, i] of entries) {
    if (i === 0) starts[0] = t;
    else if (starts[i - 1]! >= 0 && t <= starts[i - 1]! + windowMs) {
      starts[i] = starts[i - 1]!;
      if (took[i]! < 0) took[i] = t - starts[i - 1]!;
    }
  }
  return { level: starts.filter((s) => s >= 0).length, took };
}

function funnelTruth(events: TrackedEvent[], steps: Array<(e: TrackedEvent) => boolean>, windowMs: number) {
  const byUser = new Map<string, TrackedEvent[]>();
  for (const e of events) byUser.set(e.user_id, [...(byUser.get(e.user_id) ?? []), e]);
  const walks = [...byUser.values()].map((list) => walk(list, steps, windowMs));
  return steps.map((_, k) => {
    const reached = walks.filter((w) => w.level > k);
    return { users: reached.length, median: k === 0 || reached.length === 0 ? null : quantile(reached.map((w) => w.took[k]!), 0.5) / 1000 };
  });
}

describe('funnels against ground truth', () => {
  it('gives users and median time per step of signup -> view -> cart -> buy within a day, exactly', async () => {
    const [from, to] = [START, START + DAYS * DAY];
    const answer = await get<Funnel>(`/insights/funnels?from=${iso(from)}&to=${iso(to)}&step=signup&step=view&step=cart&step=buy&window=86400`);
    const expected = funnelTruth(counted.filter(within(from, to)), ['signup', 'view', 'cart', 'buy'].map((a) => (e: TrackedEvent) => e.action === a), DAY);
    expect(answer.final).toBe(true);
    expect(answer.steps.map((s) => ({ users: s.users, median: s.median_seconds_to_convert }))).toEqual(expected);
    expect(expected[3]!.users).toBeGreaterThan(5);
    expect(answer.steps[2]!.conversion_from_previous).toBeCloseTo(expected[2]!.users / expected[1]!.users, 10);
    expect(answer.steps[3]!.conversion_from_first).toBeCloseTo(expected[3]!.users / expected[0]!.users, 10);
  });

  it('agrees with ClickHouse windowFunnel on the users per step', async () => {
    const answer = await get<Funnel>(`/insights/funnels?from=${iso(START)}&to=${iso(START + DAYS * DAY)}&step=view&step=cart&step=buy&window=3600`);
    const result = await clickhouse.query({
      query: `SELECT level, count() AS users FROM (
                SELECT user_id, windowFunnel(3600000)(toUInt64(toUnixTimestamp64Milli(timestamp)), action = 'view', action = 'cart', action = 'buy') AS level
                FROM events WHERE project_id = 'default' AND timestamp < {to:DateTime64(3, 'UTC')}
                  AND event_id NOT IN (SELECT event_id FROM late_events WHERE corrected = 0 AND topology = 'user-activity-1m')
                GROUP BY user_id) GROUP BY level`,
      query_params: { to: START + DAYS * DAY },
      format: 'JSONEachRow',
    });
    const levels = await result.json<{ level: number; users: string }>();
    const atLeast = (k: number) => levels.filter((l) => l.level >= k).reduce((s, l) => s + Number(l.users), 0);
    expect(answer.steps.map((s) => s.users)).toEqual([1, 2, 3].map(atLeast));
  });

  it('walks a repeated action as windowFunnel does: view -> view -> buy (an event may count for both views)', async () => {
    const path = `/insights/funnels?from=${iso(START)}&to=${iso(START + DAYS * DAY)}&step=view&step=view|page:/pricing&step=buy&window=1800`;
    const answer = await get<Funnel>(path);
    const steps = [(e: TrackedEvent) => e.action === 'view', (e: TrackedEvent) => e.action === 'view' && e.properties.page === '/pricing', (e: TrackedEvent) => e.action === 'buy'];
    const expected = funnelTruth(counted, steps, 1_800_000);
    expect(answer.steps.map((s) => ({ users: s.users, median: s.median_seconds_to_convert }))).toEqual(expected);
    expect(expected[2]!.users).toBeGreaterThan(0);
  });

  it('filters a step on a property and breaks down by the plan of the first step', async () => {
    const answer = await get<Funnel>(`/insights/funnels?from=${iso(START)}&to=${iso(START + DAYS * DAY)}&step=view&step=buy|first:true&window=7200&breakdown=property:plan`);
    const steps = [(e: TrackedEvent) => e.action === 'view', (e: TrackedEvent) => e.action === 'buy' && e.properties.first === true];
    for (const plan of ['free', 'pro']) {
      const expected = funnelTruth(counted.filter((e) => e.properties.plan === plan), steps, 2 * HOUR);
      const got = answer.breakdown!.find((b) => b.key === plan)!;
      expect(got.steps.map((s) => ({ users: s.users, median: s.median_seconds_to_convert }))).toEqual(expected);
    }
    expect(answer.steps.map((s) => s.users)).toEqual(funnelTruth(counted, steps, 2 * HOUR).map((s) => s.users));
  });
});

interface Retention {
  cohorts: Array<{ start: string; users: number; returned: number[]; percent: number[] }>;
}

function retentionTruth(events: TrackedEvent[], first: string, back: string, period: number, periodStart: (ms: number) => number, last: number) {
  const cohortOf = new Map<string, number>();
  for (const e of events) if (e.action === first) cohortOf.set(e.user_id, Math.min(cohortOf.get(e.user_id) ?? Infinity, periodStart(e.timestamp)));
  const cohorts = new Map<number, { users: Set<string>; returned: Array<Set<string>> }>();
  for (const [user, start] of cohortOf) {
    const cohort = cohorts.get(start) ?? { users: new Set(), returned: Array.from({ length: Math.floor((last - start) / period) + 1 }, () => new Set<string>()) };
    cohort.users.add(user);
    cohort.returned[0]!.add(user);
    cohorts.set(start, cohort);
  }
  for (const e of events) {
    const start = cohortOf.get(e.user_id);
    if (e.action !== back || start === undefined) continue;
    const n = (periodStart(e.timestamp) - start) / period;
    if (n >= 1) cohorts.get(start)!.returned[n]?.add(e.user_id);
  }
  return [...cohorts]
    .sort(([a], [b]) => a - b)
    .map(([start, c]) => ({ start: iso(start), users: c.users.size, returned: c.returned.map((s) => s.size) }));
}

describe('retention against ground truth', () => {
  it('gives daily cohorts of signups returning with a view, a triangle, exactly', async () => {
    const [from, to] = [START, START + DAYS * DAY];
    const answer = await get<Retention>(`/insights/retention?from=${iso(from)}&to=${iso(to)}&first=signup&return=view&period=day`);
    const expected = retentionTruth(counted.filter(within(from, to)), 'signup', 'view', DAY, (ms) => floorTo(ms, DAY), floorTo(to - 1, DAY));
    expect(answer.cohorts.map(({ start, users, returned }) => ({ start, users, returned }))).toEqual(expected);
    expect(answer.cohorts[0]!.percent[0]).toBe(100);
  });

  it('gives weekly cohorts of viewers returning to buy', async () => {
    const [from, to] = [START, START + DAYS * DAY];
    const answer = await get<Retention>(`/insights/retention?from=${iso(from)}&to=${iso(to)}&first=view&return=buy&period=week`);
    // START is a Monday: weeks are 7-day steps from it.
    const week = 7 * DAY;
    const expected = retentionTruth(counted, 'view', 'buy', week, (ms) => START + floorTo(ms - START, week), START + week);
    expect(answer.cohorts.map(({ start, users, returned }) => ({ start, users, returned }))).toEqual(expected);
  });
});

describe('sessions and properties against ground truth', () => {
  it('gives sessions per day: count, median and p90 duration, events per session', async () => {
    const answer = await get<{ points: Array<{ t: string; sessions: number; median_seconds: number; p90_seconds: number; events_per_session: number }> }>(
      `/insights/sessions?from=${iso(START)}&to=${iso(START + DAYS * DAY)}&granularity=1d`,
    );
    const byUser = new Map<string, TrackedEvent[]>();
    for (const e of counted) byUser.set(e.user_id, [...(byUser.get(e.user_id) ?? []), e]);
    const sessions: TrackedEvent[][] = [];
    for (const list of byUser.values()) {
      let current: TrackedEvent[] = [];
      for (const e of list) {
        if (current.length > 0 && e.timestamp - current.at(-1)!.timestamp > config.topology.sessionGapMs) sessions.push(current), (current = []);
        current.push(e);
      }
      sessions.push(current);
    }
    const byDay = new Map<number, TrackedEvent[][]>();
    for (const s of sessions) byDay.set(floorTo(s[0]!.timestamp, DAY), [...(byDay.get(floorTo(s[0]!.timestamp, DAY)) ?? []), s]);
    const expected = [...byDay]
      .sort(([a], [b]) => a - b)
      .map(([t, list]) => {
        const durations = list.map((s) => (s.at(-1)!.timestamp - s[0]!.timestamp) / 1000);
        return { t: iso(t), sessions: list.length, median_seconds: quantile(durations, 0.5), p90_seconds: quantile(durations, 0.9), events: list.reduce((n, s) => n + s.length, 0) / list.length };
      });
    const got = answer.points.map((p) => ({ t: p.t, sessions: p.sessions, median_seconds: p.median_seconds, p90_seconds: p.p90_seconds, events: p.events_per_session }));
    expect(got.map((p) => ({ ...p, p90_seconds: Math.round(p.p90_seconds * 1000), median_seconds: Math.round(p.median_seconds * 1000), events: p.events.toFixed(9) }))).toEqual(
      expected.map((p) => ({ ...p, p90_seconds: Math.round(p.p90_seconds * 1000), median_seconds: Math.round(p.median_seconds * 1000), events: p.events.toFixed(9) })),
    );
  });

  it('lists the property names seen per action, with their types and last time seen', async () => {
    const answer = await get<{ actions: Array<{ action: string; properties: Array<{ name: string; type: string; last_seen: string }> }> }>('/insights/properties');
    const expected = new Map<string, Map<string, number>>();
    for (const e of [...stored, closer]) {
      for (const [name, value] of Object.entries(e.properties)) {
        const key = `${name}:${typeof value}`;
        const seen = expected.get(e.action) ?? new Map<string, number>();
        seen.set(key, Math.max(seen.get(key) ?? 0, e.timestamp));
        expected.set(e.action, seen);
      }
    }
    const got = new Map(answer.actions.map((a) => [a.action, new Map(a.properties.map((p) => [`${p.name}:${p.type}`, Date.parse(p.last_seen)]))]));
    expect(got).toEqual(expected);
  });
});
