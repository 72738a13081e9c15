/**
 * Writes of the windowed topologies' results (migration 0002): per-minute
 * activity as signed changes (so the hour and day rollups stay exact),
 * sessions as replacing snapshots, late events, and watermarks.
 * All SQL is parameterised.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import type { TrackedEvent } from '../model/event.js';
import { durationMs, type ActivityAggregate } from '../stream/aggregates.js';
import { splitUserKey } from '../stream/topology.js';
import type { LateEvent, WindowResult } from '../stream/window-store.js';
import { toDateTime64 } from './events-table.js';
import { chunkByCost, urlCost } from './lookup-chunks.js';

interface ActivityValues {
  events: number;
  actions: Record<string, number>;
  first_event_at: string;
  last_event_at: string;
  numeric_count: Record<string, number>;
  numeric_sum: Record<string, number>;
  numeric_min: Record<string, number>;
  numeric_max: Record<string, number>;
}

interface ActivityChangeRow extends ActivityValues {
  topology: string;
  project_id: string;
  user_id: string;
  window_start: string;
  window_end: string;
  revision: number;
  sign: 1 | -1;
  is_final: 0 | 1;
}

type NumericField = 'count' | 'sum' | 'min' | 'max';

/** The aggregate's per-property statistics as the table's four map columns. */
function numericColumns(aggregate: ActivityAggregate): Record<NumericField, Record<string, number>> {
  const columns: Record<NumericField, Record<string, number>> = { count: {}, sum: {}, min: {}, max: {} };
  for (const name in aggregate.numeric) {
    const stats = aggregate.numeric[name]!;
    columns.count[name] = stats.count;
    columns.sum[name] = stats.sum;
    columns.min[name] = stats.min;
    columns.max[name] = stats.max;
  }
  return columns;
}

/** A stored minute result, times as epoch-millisecond strings (exact, unlike ISO text round trips). */
type StoredActivity = Omit<ActivityValues, 'first_event_at' | 'last_event_at'> & {
  project_id: string;
  user_id: string;
  start_ms: string;
  revision: number;
  is_final: 0 | 1;
  first_ms: string;
  last_ms: string;
};

/** What a window start costs in a lookup's URL: a DateTime64 literal. */
const START_URL_COST = urlCost('0000-00-00 00:00:00.000');

/**
 * The stored revision of each window the results are about, keyed
 * `project/user/start`; as many queries as the URL budget needs.
 */
async function storedActivity(client: ClickHouseClient, results: WindowResult<ActivityAggregate>[]): Promise<Map<string, StoredActivity>> {
  const keys = results.map((r) => ({ ...splitUserKey(r.key), start: r.window.start }));
  const stored = new Map<string, StoredActivity>();
  for (const chunk of chunkByCost(keys, (k) => urlCost(k.project_id) + urlCost(k.user_id) + START_URL_COST)) {
    const result = await client.query({
      query: `SELECT project_id, user_id, toString(toUnixTimestamp64Milli(window_start)) AS start_ms,
                     revision, is_final, events, actions,
                     toString(toUnixTimestamp64Milli(first_event_at)) AS first_ms,
                     toString(toUnixTimestamp64Milli(last_event_at)) AS last_ms,
                     numeric_count, numeric_sum, numeric_min, numeric_max
              FROM agg_user_activity_1m FINAL
              WHERE project_id IN {projects:Array(String)} AND user_id IN {users:Array(String)}
                AND window_start IN {starts:Array(DateTime64(3, 'UTC'))}`,
      query_params: {
        projects: [...new Set(chunk.map((k) => k.project_id))],
        users: [...new Set(chunk.map((k) => k.user_id))],
        starts: [...new Set(chunk.map((k) => toDateTime64(k.start)))],
      },
      format: 'JSONEachRow',
      // Counts as JSON numbers (they are far below 2^53), as the types say.
      clickhouse_settings: { output_format_json_quote_64bit_integers: 0 },
    });
    for (const row of await result.json<StoredActivity>()) stored.set(`${row.project_id}/${row.user_id}/${row.start_ms}`, row);
  }
  return stored;
}

/**
 * Writes per-minute activity results. A result newer than the stored
 * revision goes in as +1, with a -1 of the stored values it replaces; one not
 * newer (a replay, a re-emit) is skipped. Returns how many were written.
 */
export async function writeActivityResults(
  client: ClickHouseClient,
  topology: string,
  results: WindowResult<ActivityAggregate>[],
): Promise<number> {
  if (results.length === 0) return 0;
  const stored = await storedActivity(client, results);
  const rows: ActivityChangeRow[] = [];
  let written = 0;
  // Rows as whole literals, not spreads: this loop runs for every result the worker emits.
  for (const result of results) {
    const { project_id, user_id } = splitUserKey(result.key);
    const previous = stored.get(`${project_id}/${user_id}/${result.window.start}`);
    if (previous && previous.revision >= result.revision) continue;
    const window_start = toDateTime64(result.window.start);
    const window_end = toDateTime64(result.window.end);
    if (previous) {
      rows.push({
        topology,
        project_id,
        user_id,
        window_start,
        window_end,
        revision: previous.revision,
        is_final: previous.is_final,
        events: previous.events,
        actions: previous.actions,
        first_event_at: toDateTime64(Number(previous.first_ms)),
        last_event_at: toDateTime64(Number(previous.last_ms)),
        numeric_count: previous.numeric_count,
        numeric_sum: previous.numeric_sum,
        numeric_min: previous.numeric_min,
        numeric_max: previous.numeric_max,
        sign: -1,
      });
    }
    const aggregate = result.aggregate;
    const numeric = numericColumns(aggregate);
    rows.push({
      topology,
      project_id,
      user_id,
      window_start,
      window_end,
      revision: result.revision,
      is_final: result.kind === 'final' ? 1 : 0,
      events: aggregate.events,
      actions: aggregate.actions,
      first_event_at: toDateTime64(aggregate.firstEventAt),
      last_event_at: toDateTime64(aggregate.lastEventAt),
      numeric_count: numeric.count,
      numeric_sum: numeric.sum,
      numeric_min: numeric.min,
      numeric_max: numeric.max,
      sign: 1,
    });
    written += 1;
  }
  if (rows.length > 0) await client.insert({ table: 'agg_user_activity_changes', values: rows, format: 'JSONEachRow' });
  return written;
}

/** Writes session results as snapshots; a retraction deletes the session it names. */
export async function writeSessionResults(client: ClickHouseClient, topology: string, results: WindowResult<ActivityAggregate>[]): Promise<void> {
  if (results.length === 0) return;
  await client.insert({
    table: 'agg_user_sessions',
    format: 'JSONEachRow',
    values: results.map((result) => ({
      topology,
      ...splitUserKey(result.key),
      session_start: toDateTime64(result.window.start),
      session_end: toDateTime64(result.window.end),
      revision: result.revision,
      is_final: result.kind === 'final' ? 1 : 0,
      is_deleted: result.kind === 'retract' ? 1 : 0,
      events: result.aggregate.events,
      actions: result.aggregate.actions,
      first_event_at: toDateTime64(result.aggregate.firstEventAt),
      last_event_at: toDateTime64(result.aggregate.lastEventAt),
      duration_ms: durationMs(result.aggregate),
    })),
  });
}

export async function recordLateEvents(client: ClickHouseClient, entries: Array<{ topology: string; late: LateEvent<TrackedEvent>[] }>): Promise<void> {
  const values = entries.flatMap(({ topology, late }) =>
    late.map(({ key, window, event, lateByMs, corrected }) => ({
      topology,
      ...splitUserKey(key),
      window_start: toDateTime64(window.start),
      event_id: event.event_id,
      event_time: toDateTime64(event.timestamp),
      late_by_ms: lateByMs,
      corrected: corrected ? 1 : 0,
    })),
  );
  if (values.length > 0) await client.insert({ table: 'late_events', format: 'JSONEachRow', values });
}

export interface WatermarkRow {
  topology: string;
  partition: number;
  watermark: number;
  openWindows: number;
  lateEvents: number;
}

export async function recordWatermarks(client: ClickHouseClient, rows: WatermarkRow[]): Promise<void> {
  const known = rows.filter((r) => Number.isFinite(r.watermark));
  if (known.length === 0) return;
  await client.insert({
    table: 'topology_watermarks',
    format: 'JSONEachRow',
    values: known.map((r) => ({
      topology: r.topology,
      partition: r.partition,
      watermark: toDateTime64(r.watermark),
      open_windows: r.openWindows,
      late_events: r.lateEvents,
    })),
  });
}
