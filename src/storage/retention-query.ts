/**
 * The read behind GET /insights/retention, over the raw events of the range
 * (less dropped late events) with ClickHouse's `retention`: a user's cohort is the period (UTC day, or
 * week from Monday) of their first `first` action in the range; they
 * returned in period n if they did the `return` action in the n-th period
 * after their cohort's. Period 0 is the cohort itself (every user of it).
 * Periods past the range's end are not counted (the triangle).
 */
import type { ClickHouseClient } from '@clickhouse/client';
import { countedEvents, droppedLateEvents } from './counted-events.js';
import { rangeParams, rows, type Range } from './stats-query.js';

export type Period = 'day' | 'week';

export const PERIOD_MS: Record<Period, number> = { day: 86_400_000, week: 7 * 86_400_000 };

/** `retention` takes at most 32 conditions: the cohort's and 31 returns. */
export const MAX_PERIODS = 32;

const PERIOD_SQL: Record<Period, { start: string; add: string }> = {
  day: { start: 'toDate(timestamp)', add: 'addDays' },
  week: { start: 'toMonday(timestamp)', add: 'addWeeks' },
};

export interface RetentionQuery {
  range: Range;
  first: string;
  return: string;
  period: Period;
}

export interface CohortRow {
  /** Epoch ms of the cohort's period. */
  start: number;
  users: number;
  /** Users of the cohort active in each period from the cohort's (index 0: all of them). */
  returned: number[];
}

/** The start of the period holding `ms` (UTC; weeks from Monday). */
export function periodStart(ms: number, period: Period): number {
  const day = ms - (ms % 86_400_000);
  if (period === 'day') return day;
  const weekday = (new Date(day).getUTCDay() + 6) % 7;
  return day - weekday * 86_400_000;
}

/** How many periods the range touches: the columns of the triangle. */
export function periodsOf(range: Pick<Range, 'from' | 'to'>, period: Period): number {
  return Math.floor((periodStart(range.to - 1, period) - periodStart(range.from, period)) / PERIOD_MS[period]) + 1;
}

export async function retention(client: ClickHouseClient, q: RetentionQuery): Promise<CohortRow[]> {
  const periods = periodsOf(q.range, q.period);
  const { start, add } = PERIOD_SQL[q.period];
  const range = countedEvents((await droppedLateEvents(client, q.range)) > 0);
  // Per user, their cohort and the periods they returned in (one pass over the events, no join); then
  // retention() over one row per return period (a row of 1970 for none), the first condition always met.
  const conditions = ['1 = 1'];
  // retention wants two conditions at least: a range of one period asks for a second it then cuts off.
  for (let n = 1; n < Math.max(periods, 2); n++) conditions.push(`p = ${add}(cohort, ${n})`);
  const found = await rows<{ start: number; users: number; returned: number[] }>(
    client,
    `SELECT toUnixTimestamp(toDateTime(cohort, 'UTC')) * 1000 AS start, count() AS users, sumForEach(r) AS returned
     FROM (
       SELECT user_id, cohort, retention(${conditions.join(', ')}) AS r
       FROM (
         SELECT user_id, minIf(${start}, action = {first:String}) AS cohort, groupUniqArrayIf(${start}, action = {return:String}) AS returns
         FROM events WHERE ${range} AND action IN ({first:String}, {return:String})
         GROUP BY user_id HAVING countIf(action = {first:String}) > 0
       )
       ARRAY JOIN if(empty(returns), [toDate(0)], returns) AS p
       GROUP BY user_id, cohort
     )
     GROUP BY start ORDER BY start`,
    { ...rangeParams(q.range), first: q.first, return: q.return },
  );
  const last = periodStart(q.range.to - 1, q.period);
  return found.map((row) => {
    const remaining = Math.floor((last - row.start) / PERIOD_MS[q.period]) + 1;
    return { start: row.start, users: row.users, returned: row.returned.slice(0, remaining).map(Number) };
  });
}
