/**
 * The whole of what the worker wrote, compared with a truth computed here
 * from the events sent (each with its own event_id): raw rows once per id;
 * every minute window's count, and sum, min and max of `amount`; every
 * user-hour and user-day of the rollups; every session's start, events and
 * duration. Waits until the windows are final, then reports each kind of
 * error as a number (all must be 0).
 */
import { expect } from 'vitest';
import type { ClickHouseClient } from '../src/storage/clickhouse.js';
import type { SentEvent } from './stack.js';
import { waitUntil } from './wait-for.js';

export interface IdentifiedEvent extends SentEvent {
  event_id: string;
}

const MINUTE = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;

interface Stats {
  events: number;
  sum: number;
  min: number;
  max: number;
}

function fold(into: Map<string, Stats>, key: string, amount: number) {
  const s = into.get(key);
  if (!s) into.set(key, { events: 1, sum: amount, min: amount, max: amount });
  else {
    s.events += 1;
    s.sum += amount;
    s.min = Math.min(s.min, amount);
    s.max = Math.max(s.max, amount);
  }
}

function statsBy(events: IdentifiedEvent[], size: number): Map<string, Stats> {
  const out = new Map<string, Stats>();
  for (const e of events) fold(out, `${e.user_id}|${e.timestamp - (e.timestamp % size)}`, e.properties.amount);
  return out;
}

/** Sessions per user: a gap over `gapMs` between two of the user's events starts a new one. */
function sessionsOf(events: IdentifiedEvent[], gapMs: number): Map<string, { events: number; duration: number }> {
  const byUser = new Map<string, number[]>();
  for (const e of events) {
    const times = byUser.get(e.user_id);
    if (times) times.push(e.timestamp);
    else byUser.set(e.user_id, [e.timestamp]);
  }
  const out = new Map<string, { events: number; duration: number }>();
  for (const [user, times] of byUser) {
    times.sort((a, b) => a - b);
    let start = times[0]!;
    let last = start;
    let n = 0;
    for (const t of times) {
      if (t - last > gapMs) {
        out.set(`${user}|${start}`, { events: n, duration: last - start });
        start = t;
        n = 0;
      }
      last = t;
      n += 1;
    }
    out.set(`${user}|${start}`, { events: n, duration: last - start });
  }
  return out;
}

async function rows<T>(clickhouse: ClickHouseClient, query: string): Promise<T[]> {
  return (await clickhouse.query({ query, format: 'JSONEachRow' })).json<T>();
}

/** Keys whose stored values differ from the truth's, plus those on one side only. */
function mismatches<V>(truth: Map<string, V>, stored: Map<string, V>): number {
  let wrong = 0;
  for (const [key, value] of truth) if (JSON.stringify(stored.get(key)) !== JSON.stringify(value)) wrong += 1;
  for (const key of stored.keys()) if (!truth.has(key)) wrong += 1;
  return wrong;
}

type StatsRow = { user_id: string; start: number } & Stats;

const asStats = (list: StatsRow[]) => new Map(list.map((r) => [`${r.user_id}|${r.start}`, { events: r.events, sum: r.sum, min: r.min, max: r.max }]));

/**
 * `sent`: every distinct event (a resend once); `excluded`: a user_id prefix
 * of helper events (the flush) left out of the comparison.
 */
export async function checkExact(
  clickhouse: ClickHouseClient,
  sent: IdentifiedEvent[],
  { sessionGapMs = 1_800_000, excluded = 'flush', label = 'exact' }: { sessionGapMs?: number; excluded?: string; label?: string } = {},
) {
  const mine = `user_id NOT LIKE '${excluded}%'`;
  const minutes = statsBy(sent, MINUTE);
  const sessions = sessionsOf(sent, sessionGapMs);
  const count = async (sql: string) => Number((await rows<{ n: number }>(clickhouse, sql))[0]?.n ?? 0);
  await waitUntil(() => count(`SELECT uniqExact(event_id) AS n FROM events WHERE ${mine}`), (n) => n >= sent.length, {
    timeoutMs: 120_000,
    intervalMs: 500,
    what: `${sent.length} distinct events stored`,
  });
  await waitUntil(() => count(`SELECT count() AS n FROM agg_user_activity_1m FINAL WHERE is_final = 1 AND ${mine}`), (n) => n >= minutes.size, {
    timeoutMs: 120_000,
    intervalMs: 500,
    what: `${minutes.size} final minute windows`,
  });
  await waitUntil(() => count(`SELECT count() AS n FROM agg_user_sessions FINAL WHERE is_final = 1 AND is_deleted = 0 AND ${mine}`), (n) => n >= sessions.size, {
    timeoutMs: 120_000,
    intervalMs: 500,
    what: `${sessions.size} final sessions`,
  });

  const ids = new Set(sent.map((e) => e.event_id));
  const raw = await rows<{ event_id: string }>(clickhouse, `SELECT event_id FROM events WHERE ${mine}`);
  const storedIds = new Set(raw.map((r) => r.event_id));
  const storedMinutes = asStats(
    await rows<StatsRow>(
      clickhouse,
      `SELECT user_id, toUnixTimestamp64Milli(window_start) AS start, events, numeric_sum['amount'] AS sum, numeric_min['amount'] AS min, numeric_max['amount'] AS max
       FROM agg_user_activity_1m FINAL WHERE ${mine}`,
    ),
  );
  const rollup = async (table: string, column: string) =>
    asStats(
      await rows<StatsRow>(
        clickhouse,
        `SELECT user_id, toUnixTimestamp(toDateTime(${column}, 'UTC')) * 1000 AS start, sum(events) AS events, sumMap(numeric_sum)['amount'] AS sum,
                minMap(numeric_min)['amount'] AS min, maxMap(numeric_max)['amount'] AS max
         FROM ${table} WHERE ${mine} GROUP BY user_id, ${column}`,
      ),
    );
  const storedSessions = new Map(
    (
      await rows<{ user_id: string; start: number; events: number; duration: number }>(
        clickhouse,
        `SELECT user_id, toUnixTimestamp64Milli(session_start) AS start, events, duration_ms AS duration
         FROM agg_user_sessions FINAL WHERE is_deleted = 0 AND ${mine}`,
      )
    ).map((r) => [`${r.user_id}|${r.start}`, { events: r.events, duration: r.duration }]),
  );
  const report = {
    events: sent.length,
    lost: [...ids].filter((id) => !storedIds.has(id)).length,
    unknownStored: [...storedIds].filter((id) => !ids.has(id)).length,
    duplicatedRawRows: raw.length - storedIds.size,
    wrongMinuteWindows: mismatches(minutes, storedMinutes),
    wrongHours: mismatches(statsBy(sent, HOUR), await rollup('agg_user_activity_1h', 'hour')),
    wrongDays: mismatches(statsBy(sent, DAY), await rollup('agg_user_activity_1d', 'day')),
    wrongSessions: mismatches(sessions, storedSessions),
    lateEvents: await count(`SELECT count() AS n FROM late_events FINAL`),
    minuteWindows: minutes.size,
    sessions: sessions.size,
  };
  console.log(`[${label}]`, JSON.stringify(report));
  expect(report).toMatchObject({
    lost: 0,
    unknownStored: 0,
    duplicatedRawRows: 0,
    wrongMinuteWindows: 0,
    wrongHours: 0,
    wrongDays: 0,
    wrongSessions: 0,
    lateEvents: 0,
  });
  return report;
}
