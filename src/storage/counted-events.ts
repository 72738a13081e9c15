/**
 * The raw events the window topologies counted, for the insights that read
 * raw events (funnels, retention, trends filtered on properties): those of
 * the project and range, minus the late events the minute topology dropped
 * (`late_events`, not corrected). So a raw read agrees with the rollups, and
 * an answer that was final stays as it was when a late event is stored.
 * `withLate`: whether the range has dropped late events at all
 * (`droppedLateEvents`); without any, the exclusion is left out, since it
 * costs reading every event's id (a noticeable part of a funnel's time).
 * Expects the `project`, `from` and `to` parameters of `rangeParams`.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import { rangeParams, rows, type Range } from './stats-query.js';

/** Late events dropped by the minute windows that hold events of [from, to) (a window may start a minute before). */
const DROPPED = `FROM late_events FINAL
    WHERE topology = 'user-activity-1m' AND project_id = {project:String} AND corrected = 0
      AND window_start >= {from:DateTime64(3, 'UTC')} - INTERVAL 1 MINUTE AND window_start < {to:DateTime64(3, 'UTC')}`;

export function countedEvents(withLate: boolean): string {
  const range = `project_id = {project:String} AND timestamp >= {from:DateTime64(3, 'UTC')} AND timestamp < {to:DateTime64(3, 'UTC')}`;
  return withLate ? `${range} AND event_id NOT IN (SELECT event_id ${DROPPED})` : range;
}

export async function droppedLateEvents(client: ClickHouseClient, range: Range): Promise<number> {
  const [found] = await rows<{ n: number }>(client, `SELECT count() AS n ${DROPPED}`, rangeParams(range));
  return found?.n ?? 0;
}
