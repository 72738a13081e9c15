/**
 * The read behind GET /insights/funnels: ordered steps over the raw events of
 * the range, per user, as ClickHouse's `windowFunnel(window)` walks them
 * (its algorithm, written out so that it also yields times):
 * the user's matching events in time order (a tie in order of the steps; an
 * event matching two steps counts for both, as windowFunnel's does); a step-1
 * event starts a chain; an event of step k extends the chain that reached
 * step k-1 if it is within the window of that chain's start. A user's level
 * is the furthest step reached; their time to convert to step k is the time
 * from the start to the end of the first chain that reached it.
 *
 * Per step: users at that level or beyond, and the median (interpolated,
 * `quantileExactInclusive(0.5)`) of their times to convert. With a
 * breakdown, each user belongs to the value of the property on their first
 * step-1 event; the top values by users entering keep their own funnel, the
 * rest share `$other`.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import { countedEvents, droppedLateEvents } from './counted-events.js';
import { OTHER, NONE, type PropertyEquals } from './trends-query.js';
import { rangeParams, rows, type Range } from './stats-query.js';

export interface FunnelStep {
  action: string;
  where?: PropertyEquals;
}

export interface FunnelQuery {
  range: Range;
  steps: FunnelStep[];
  windowMs: number;
  /** A property name: one funnel per value. */
  breakdown?: string;
  top: number;
}

export interface FunnelCounts {
  key: string | null;
  /** Per step: users who reached it. */
  users: number[];
  /** Per step: median ms from the first step to it (null for the first step, and when nobody reached it). */
  medianMs: Array<number | null>;
}

function stepCondition(step: FunnelStep, i: number, params: Record<string, unknown>): string {
  params[`a${i}`] = step.action;
  if (step.where === undefined) return `action = {a${i}:String}`;
  Object.assign(params, { [`pn${i}`]: step.where.name, [`pv${i}`]: step.where.value, [`pj${i}`]: JSON.stringify(step.where.value) });
  return `(action = {a${i}:String} AND JSONExtractRaw(properties, {pn${i}:String}) IN ({pv${i}:String}, {pj${i}:String}))`;
}

/**
 * Per user, from their entries `events` (sorted (ms, step) pairs): `s<k>`
 * holds, at each step-k entry that extends a chain, that chain's start, else
 * -1. windowFunnel's loop keeps one current start per step, which an entry of
 * step k reads from step k-1: that is the last value of `s<k-1>` before the
 * entry, which arrayFill carries forward. So the loop becomes one arrayMap
 * per step, vectorised (an arrayFold of the loop took 10-20 times longer).
 * `took<k>`: the first chain to reach step k, its end minus its start.
 */
function walkColumns(steps: number): string[] {
  const columns = ['arrayMap(e -> if(e.2 = 1, e.1, toInt64(-1)), events) AS s1'];
  for (let k = 2; k <= steps; k++) {
    columns.push(`arrayMap((e, start) -> if(e.2 = ${k} AND start >= 0 AND e.1 <= start + {window:Int64}, start, toInt64(-1)),
      events, arrayFill(x -> x >= 0, s${k - 1})) AS s${k}`);
    columns.push(`if(arrayExists(x -> x >= 0, s${k}), events[arrayFirstIndex(x -> x >= 0, s${k})].1 - s${k}[arrayFirstIndex(x -> x >= 0, s${k})], toInt64(-1)) AS took${k}`);
  }
  return columns;
}

export async function funnel(client: ClickHouseClient, q: FunnelQuery): Promise<FunnelCounts[]> {
  const params: Record<string, unknown> = { ...rangeParams(q.range), window: q.windowMs, top: q.top };
  const conditions = q.steps.map((step, i) => stepCondition(step, i, params));
  const n = q.steps.length;
  const range = countedEvents((await droppedLateEvents(client, q.range)) > 0);
  const actions = [...new Set(q.steps.map((s) => s.action))];
  params.actions = actions;
  // Each event as (ms, step) for every step it matches. When the steps' actions differ, an event matches one
  // step at most: one pair per event (step 0, matching none, is inert), without building an array per event.
  const exclusive = actions.length === n;
  const entries = exclusive
    ? `groupArray((toUnixTimestamp64Milli(timestamp), toUInt8(multiIf(${conditions.map((c, i) => `${c}, ${i + 1}`).join(', ')}, 0))))`
    : `arrayFlatten(groupArray(arrayFilter(e -> e.2 > 0, [${conditions.map((c, i) => `(toUnixTimestamp64Milli(timestamp), toUInt8(if(${c}, ${i + 1}, 0)))`).join(', ')}])))`;
  const breakdownKey = `if(JSONHas(properties, {breakdown:String}),
      if(JSONType(properties, {breakdown:String}) = 'String', JSONExtractString(properties, {breakdown:String}), JSONExtractRaw(properties, {breakdown:String})), '${NONE}')`;
  let key = 'NULL';
  if (q.breakdown !== undefined) {
    params.breakdown = q.breakdown;
    // The top values among step-1 events' users; a user's own value is the one on their first step-1 event.
    const topValues = `SELECT ${breakdownKey} AS k FROM events WHERE ${range} AND ${conditions[0]} GROUP BY k ORDER BY uniq(user_id) DESC, k LIMIT {top:UInt32}`;
    key = `if(first_value IN (${topValues}), first_value, '${OTHER}')`;
  }
  const perUser = `
    SELECT user_id, arraySort(${entries}) AS events,
           ${q.breakdown === undefined ? '' : `argMinIf(${breakdownKey}, timestamp, ${conditions[0]}) AS first_value,`}
           ${walkColumns(n).join(',\n           ')}
    FROM events WHERE ${range} AND action IN {actions:Array(String)}
    GROUP BY user_id
    HAVING arrayExists(x -> x >= 0, s1)`;
  const columns: string[] = [];
  for (let k = 1; k <= n; k++) {
    columns.push(k === 1 ? 'count() AS users_1' : `countIf(took${k} >= 0) AS users_${k}`);
    if (k > 1) columns.push(`quantileExactInclusiveIf(0.5)(took${k}, took${k} >= 0) AS median_${k}`);
  }
  const found = await rows<Record<string, number | string | null>>(
    client,
    `SELECT ${key} AS key, ${columns.join(', ')} FROM (${perUser}) GROUP BY key ORDER BY users_1 DESC, key`,
    params,
  );
  return found.map((row) => ({
    key: row.key === null ? null : String(row.key),
    users: Array.from({ length: n }, (_, k) => Number(row[`users_${k + 1}`])),
    medianMs: Array.from({ length: n }, (_, k) => {
      const users = Number(row[`users_${k + 1}`]);
      return k === 0 || users === 0 ? null : Number(row[`median_${k + 1}`]);
    }),
  }));
}
