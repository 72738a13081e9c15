/**
 * The read behind GET /insights/sessions: sessions starting in each bucket,
 * from agg_user_sessions (the user-sessions topology's current result per
 * session, read with FINAL; sessions merged into another are deleted there).
 * Durations are exact quantiles, interpolated (`quantileExactInclusive`).
 */
import type { ClickHouseClient } from '@clickhouse/client';
import { rangeParams, rows, type Range } from './stats-query.js';

export type SessionGranularity = '1h' | '1d';

const BUCKET: Record<SessionGranularity, string> = {
  '1h': "toUnixTimestamp64Milli(toDateTime64(toStartOfHour(session_start), 3, 'UTC'))",
  '1d': "toUnixTimestamp64Milli(toDateTime64(toStartOfDay(session_start), 3, 'UTC'))",
};

export interface SessionBucket {
  t: number;
  sessions: number;
  median_ms: number;
  p90_ms: number;
  events_per_session: number;
  /** Every session in the bucket has its final result. */
  all_final: 0 | 1;
}

export async function sessionsOverview(client: ClickHouseClient, range: Range, granularity: SessionGranularity): Promise<SessionBucket[]> {
  return rows<SessionBucket>(
    client,
    `SELECT ${BUCKET[granularity]} AS t, count() AS sessions,
            quantileExactInclusive(0.5)(duration_ms) AS median_ms, quantileExactInclusive(0.9)(duration_ms) AS p90_ms,
            avg(events) AS events_per_session, min(is_final) AS all_final
     FROM agg_user_sessions FINAL
     WHERE project_id = {project:String} AND is_deleted = 0
       AND session_start >= {from:DateTime64(3, 'UTC')} AND session_start < {to:DateTime64(3, 'UTC')}
     GROUP BY t ORDER BY t`,
    rangeParams(range),
  );
}
