/**
 * The aggregate reads behind GET /stats, from the tables the topologies
 * write, never the raw events:
 *   - a user's series at 1m: agg_user_activity_1m (FINAL, per-minute results)
 *   - a user's series at 1h / 1d: agg_user_activity_1h / _1d (rollups)
 *   - a user's sessions: agg_user_sessions (FINAL)
 *   - overview (totals, per action, top users and actions): agg_user_activity_1h
 *   - watermark and late events: topology_watermarks, late_events
 * Identifiers (tables, bucket expressions) come from allow-lists; values are
 * query parameters.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import { toDateTime64 } from './events-table.js';

export type Granularity = '1m' | '1h' | '1d';

export const GRANULARITY_MS: Record<Granularity, number> = { '1m': 60_000, '1h': 3_600_000, '1d': 86_400_000 };

const SERIES_SOURCE: Record<Granularity, { table: string; bucket: string; events: string; actions: string }> = {
  '1m': { table: 'agg_user_activity_1m FINAL', bucket: 'window_start', events: 'sum(events)', actions: 'sumMap(actions)' },
  '1h': { table: 'agg_user_activity_1h', bucket: 'hour', events: 'sum(events)', actions: 'sumMap(actions)' },
  '1d': { table: 'agg_user_activity_1d', bucket: 'day', events: 'sum(events)', actions: 'sumMap(actions)' },
};

export interface Range {
  projectId: string;
  from: number;
  to: number;
}

export interface SeriesPoint {
  start: number;
  events: number;
  actions: Record<string, number>;
}

export async function rows<T>(client: ClickHouseClient, query: string, params: Record<string, unknown>): Promise<T[]> {
  const result = await client.query({
    query,
    query_params: params,
    format: 'JSONEachRow',
    // Limits: the API's client carries READ_LIMITS (read-limits.ts) on every query.
    clickhouse_settings: { output_format_json_quote_64bit_integers: 0 },
  });
  return result.json<T>();
}

export function rangeParams(range: Range) {
  return { project: range.projectId, from: toDateTime64(range.from), to: toDateTime64(range.to) };
}

/** The series of one user, or the sum over several ids (a user and its linked ids). */
export async function userSeries(client: ClickHouseClient, userIds: string[], granularity: Granularity, range: Range): Promise<SeriesPoint[]> {
  const source = SERIES_SOURCE[granularity];
  const found = await rows<{ start: number; events: number; actions: Record<string, number> }>(
    client,
    `SELECT toUnixTimestamp64Milli(toDateTime64(${source.bucket}, 3, 'UTC')) AS start, ${source.events} AS events, ${source.actions} AS actions
     FROM ${source.table}
     WHERE project_id = {project:String} AND user_id IN {users:Array(String)}
       AND ${source.bucket} >= {from:DateTime64(3, 'UTC')} AND ${source.bucket} < {to:DateTime64(3, 'UTC')}
     GROUP BY start ORDER BY start`,
    { ...rangeParams(range), users: userIds },
  );
  // Cancelled actions sum to zero in the rollups: they did not happen.
  return found.map((p) => ({ start: p.start, events: p.events, actions: Object.fromEntries(Object.entries(p.actions).filter(([, n]) => n > 0)) }));
}

export interface SessionRow {
  start: number;
  end: number;
  events: number;
  duration_ms: number;
  is_final: 0 | 1;
}

/** The sessions of one user, or of several ids (a user and its linked ids: each id's sessions, not merged). */
export async function userSessions(client: ClickHouseClient, userIds: string[], range: Range): Promise<SessionRow[]> {
  return rows<SessionRow>(
    client,
    `SELECT toUnixTimestamp64Milli(session_start) AS start, toUnixTimestamp64Milli(session_end) AS end, events, duration_ms, is_final
     FROM agg_user_sessions FINAL
     WHERE project_id = {project:String} AND user_id IN {users:Array(String)}
       AND session_start >= {from:DateTime64(3, 'UTC')} AND session_start < {to:DateTime64(3, 'UTC')}
     ORDER BY start`,
    { ...rangeParams(range), users: userIds },
  );
}

export interface Overview {
  events: number;
  uniqueUsers: number;
  actions: Record<string, number>;
  topUsers: Array<{ user_id: string; events: number }>;
}

export async function overview(client: ClickHouseClient, range: Range, top: number): Promise<Overview> {
  const params = { ...rangeParams(range), top };
  const where = `project_id = {project:String} AND hour >= {from:DateTime64(3, 'UTC')} AND hour < {to:DateTime64(3, 'UTC')}`;
  // Outer names differ from the inner ones: an alias would shadow the column inside uniqExactIf.
  const [totals] = await rows<{ total: number; users: number; all_actions: Record<string, number> }>(
    client,
    `SELECT sum(events) AS total, uniqExactIf(user_id, events > 0) AS users, sumMap(actions) AS all_actions
     FROM (SELECT user_id, sum(events) AS events, sumMap(actions) AS actions FROM agg_user_activity_1h WHERE ${where} GROUP BY user_id)`,
    params,
  );
  const topUsers = await rows<{ user_id: string; events: number }>(
    client,
    `SELECT user_id, sum(events) AS events FROM agg_user_activity_1h WHERE ${where}
     GROUP BY user_id HAVING events > 0 ORDER BY events DESC, user_id LIMIT {top:UInt32}`,
    params,
  );
  return {
    events: totals?.total ?? 0,
    uniqueUsers: totals?.users ?? 0,
    actions: Object.fromEntries(Object.entries(totals?.all_actions ?? {}).filter(([, n]) => n > 0)),
    topUsers,
  };
}

export interface Progress {
  /** The lowest watermark over the partitions (event time every partition has reached); null before any event. */
  watermark: number | null;
  lateEvents: number;
}

export async function progress(client: ClickHouseClient, topology: string, range: Range): Promise<Progress> {
  const [mark] = await rows<{ watermark: number | null }>(
    client,
    `SELECT if(count() = 0, NULL, toUnixTimestamp64Milli(min(watermark))) AS watermark FROM topology_watermarks FINAL WHERE topology = {topology:String}`,
    { topology },
  );
  const [late] = await rows<{ n: number }>(
    client,
    `SELECT count() AS n FROM late_events FINAL
     WHERE topology = {topology:String} AND project_id = {project:String}
       AND window_start >= {from:DateTime64(3, 'UTC')} AND window_start < {to:DateTime64(3, 'UTC')} AND corrected = 0`,
    { ...rangeParams(range), topology },
  );
  return { watermark: mark?.watermark ?? null, lateEvents: late?.n ?? 0 };
}
