/**
 * The reads behind GET /insights/trends: one measure per bucket, optionally
 * per action or per value of one property (the top N, the rest as `$other`).
 * Which table answers depends on what the question needs (`trendSource`):
 *   - count / uniques over actions: agg_action_activity_1m/_1h/_1d (migration
 *     0013, from the window change log): a few rows per bucket.
 *   - a numeric measure of a property, by action at most, at 1h / 1d:
 *     agg_property_values_1h/_1d (migration 0014, from the stored events).
 *   - anything that filters or splits on a property's value, or a numeric
 *     measure at 1m: the raw events of the range (the rollups hold no
 *     property values), less the late events the windows dropped
 *     (counted-events.ts); the route bounds its range.
 * Identifiers (tables, columns, expressions) come from the allow-lists
 * below; every value the client sent is a query parameter.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import { countedEvents, droppedLateEvents } from './counted-events.js';
import { rangeParams, rows, type Granularity, type Range } from './stats-query.js';

export const MEASURES = ['count', 'uniques', 'sum', 'avg', 'min', 'max', 'p50', 'p90', 'p99'] as const;
export type Measure = (typeof MEASURES)[number];
export const NUMERIC_MEASURES: ReadonlySet<Measure> = new Set(['sum', 'avg', 'min', 'max', 'p50', 'p90', 'p99']);

/** The key of the values past the top N of a breakdown. */
export const OTHER = '$other';
/** The key of events without the breakdown's property. */
export const NONE = '$none';

export interface PropertyEquals {
  name: string;
  /** As written in the URL: matches the JSON string with this text, or a number, boolean or null written so. */
  value: string;
}

export type Breakdown = { by: 'action' } | { by: 'property'; name: string };

export interface TrendQuery {
  range: Range;
  granularity: Granularity;
  measure: Measure;
  /** The numeric property a numeric measure reads. */
  property?: string;
  actions: string[];
  where: PropertyEquals[];
  breakdown?: Breakdown;
  top: number;
}

export type TrendSource = 'action-rollups' | 'property-rollups' | 'events';

export function trendSource(q: Pick<TrendQuery, 'granularity' | 'measure' | 'where'> & { breakdown?: Breakdown | undefined }): TrendSource {
  if (q.where.length > 0 || q.breakdown?.by === 'property') return 'events';
  if (!NUMERIC_MEASURES.has(q.measure)) return 'action-rollups';
  return q.granularity === '1m' ? 'events' : 'property-rollups';
}

export interface TrendRow {
  t: number;
  /** Null without a breakdown. */
  key: string | null;
  value: number;
}

interface Sql {
  table: string;
  /** Epoch ms of the bucket. */
  bucket: string;
  where: string[];
  value: string;
  /** What the top N of a breakdown are ranked by. */
  rank: string;
  key: string | undefined;
}

const ACTION_ROLLUPS: Record<Granularity, { table: string; column: string }> = {
  '1m': { table: 'agg_action_activity_1m', column: 'minute' },
  '1h': { table: 'agg_action_activity_1h', column: 'hour' },
  '1d': { table: 'agg_action_activity_1d', column: 'day' },
};

const PROPERTY_ROLLUPS: Record<Exclude<Granularity, '1m'>, { table: string; column: string }> = {
  '1h': { table: 'agg_property_values_1h', column: 'hour' },
  '1d': { table: 'agg_property_values_1d', column: 'day' },
};

const QUANTILE_INDEX: Partial<Record<Measure, number>> = { p50: 1, p90: 2, p99: 3 };

const ROLLUP_VALUE: Record<Measure, string> = {
  count: 'sum(events)',
  uniques: 'uniqCombinedMerge(users)',
  sum: 'sum(sum)',
  avg: 'sum(sum) / sum(count)',
  min: 'min(min)',
  max: 'max(max)',
  p50: 'quantilesTDigestMerge(0.5, 0.9, 0.99)(quantiles)[1]',
  p90: 'quantilesTDigestMerge(0.5, 0.9, 0.99)(quantiles)[2]',
  p99: 'quantilesTDigestMerge(0.5, 0.9, 0.99)(quantiles)[3]',
};

/** A property's value as a number, NaN unless its raw JSON is a finite number (as migration 0014 reads it). */
const NUMBER = 'toFloat64OrDefault(JSONExtractRaw(properties, {property:String}), nan)';

function eventsValue(measure: Measure): string {
  if (measure === 'count') return 'count()';
  if (measure === 'uniques') return 'uniqCombined(user_id)';
  const quantile = QUANTILE_INDEX[measure];
  if (quantile !== undefined) return `quantilesTDigest(0.5, 0.9, 0.99)(${NUMBER})[${quantile}]`;
  return `${measure}(${NUMBER})`;
}

const EVENTS_BUCKET: Record<Granularity, string> = {
  '1m': "toUnixTimestamp64Milli(toDateTime64(toStartOfMinute(timestamp), 3, 'UTC'))",
  '1h': "toUnixTimestamp64Milli(toDateTime64(toStartOfHour(timestamp), 3, 'UTC'))",
  '1d': "toUnixTimestamp64Milli(toDateTime64(toStartOfDay(timestamp), 3, 'UTC'))",
};

/** The breakdown property's value as text (a string unquoted, other JSON as written), `$none` when absent. */
const PROPERTY_KEY = `if(JSONHas(properties, {breakdown:String}),
  if(JSONType(properties, {breakdown:String}) = 'String', JSONExtractString(properties, {breakdown:String}), JSONExtractRaw(properties, {breakdown:String})),
  '${NONE}')`;

function sqlOf(q: TrendQuery, params: Record<string, unknown>, withLate: boolean): Sql {
  const source = trendSource(q);
  const project = 'project_id = {project:String}';
  const actions = q.actions.length > 0 ? ['action IN {actions:Array(String)}'] : [];
  if (source === 'events') {
    const where = [countedEvents(withLate), ...actions];
    q.where.forEach(({ name, value }, i) => {
      where.push(`JSONExtractRaw(properties, {wn${i}:String}) IN ({wv${i}:String}, {wj${i}:String})`);
      Object.assign(params, { [`wn${i}`]: name, [`wv${i}`]: value, [`wj${i}`]: JSON.stringify(value) });
    });
    if (NUMERIC_MEASURES.has(q.measure)) where.push(`isFinite(${NUMBER})`);
    const key = q.breakdown === undefined ? undefined : q.breakdown.by === 'action' ? 'toString(action)' : PROPERTY_KEY;
    if (q.breakdown?.by === 'property') params.breakdown = q.breakdown.name;
    const rank = q.measure === 'count' || q.measure === 'uniques' || q.measure === 'sum' ? eventsValue(q.measure) : 'count()';
    return { table: 'events', bucket: EVENTS_BUCKET[q.granularity], where, value: eventsValue(q.measure), rank, key };
  }
  const rollup = source === 'action-rollups' ? ACTION_ROLLUPS[q.granularity] : PROPERTY_ROLLUPS[q.granularity as Exclude<Granularity, '1m'>];
  const where = [project, `${rollup.column} >= {from:DateTime64(3, 'UTC')}`, `${rollup.column} < {to:DateTime64(3, 'UTC')}`, ...actions];
  if (source === 'property-rollups') where.push('property = {property:String}');
  const value = ROLLUP_VALUE[q.measure];
  const rank = source === 'action-rollups' || q.measure === 'sum' ? value : 'sum(count)';
  const key = q.breakdown === undefined ? undefined : 'toString(action)';
  return { table: rollup.table, bucket: `toUnixTimestamp(toDateTime(${rollup.column}, 'UTC')) * 1000`, where, value, rank, key };
}

export async function trend(client: ClickHouseClient, q: TrendQuery): Promise<TrendRow[]> {
  const params: Record<string, unknown> = { ...rangeParams(q.range), actions: q.actions, property: q.property ?? '', top: q.top };
  const withLate = trendSource(q) === 'events' && (await droppedLateEvents(client, q.range)) > 0;
  const sql = sqlOf(q, params, withLate);
  const where = sql.where.join(' AND ');
  // The top N keys by the measure over the whole range; every other key is `$other`.
  const key =
    sql.key === undefined
      ? 'NULL'
      : `if(${sql.key} IN (SELECT ${sql.key} AS k FROM ${sql.table} WHERE ${where} GROUP BY k ORDER BY ${sql.rank} DESC, k LIMIT {top:UInt32}), ${sql.key}, '${OTHER}')`;
  const found = await rows<{ t: number; key: string | null; value: number | null }>(
    client,
    `SELECT ${sql.bucket} AS t, ${key} AS key, ${sql.value} AS value
     FROM ${sql.table} WHERE ${where}
     GROUP BY t, key ORDER BY t, key`,
    params,
  );
  // An average or quantile of no value is NaN (null in JSON): no point.
  return found.filter((r): r is TrendRow => r.value !== null && Number.isFinite(r.value));
}
