/**
 * Writes of the windowed topologies' results (migration 0002): per-minute
 * activity as signed changes (so the hour and day rollups stay exact),
 * sessions as replacing snapshots, late events, and watermarks.
 * All SQL is parameterised. Each write returns how many rows the table
 * refused on their own (insert-rows.ts): the rest is stored.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import type { TrackedEvent } from '../model/event.js';
import { durationMs, type ActivityAggregate, type NumericSummary } from '../stream/aggregates.js';
import { splitUserKey, type GroupKey } from '../stream/topology.js';
import type { LateEvent, StoredResult, WindowResult } from '../stream/window-store.js';
import { toDateTime64 } from './events-table.js';
import { insertRows } from './insert-rows.js';
import { chunkByCost, urlCost } from './lookup-chunks.js';
import { ch, nativeTable } from './native-format.js';

interface ActivityValues {
  events: number;
  actions: Record<string, number>;
  numeric_count: Record<string, number>;
  numeric_sum: Record<string, number>;
  numeric_min: Record<string, number>;
  numeric_max: Record<string, number>;
}

/** Times as epoch milliseconds, here and in the other rows written. */
export interface ActivityChangeRow extends ActivityValues {
  topology: string;
  project_id: string;
  user_id: string;
  window_start: number;
  window_end: number;
  revision: number;
  sign: 1 | -1;
  is_final: 0 | 1;
  first_event_at: number;
  last_event_at: number;
}

const ACTIVITY_CHANGES = nativeTable<ActivityChangeRow>({
  topology: ch.string,
  project_id: ch.string,
  user_id: ch.string,
  window_start: ch.dateTime64ms,
  window_end: ch.dateTime64ms,
  revision: ch.uint32,
  sign: ch.int8,
  is_final: ch.uint8,
  events: ch.uint64,
  actions: ch.map(ch.uint64),
  first_event_at: ch.dateTime64ms,
  last_event_at: ch.dateTime64ms,
  numeric_count: ch.map(ch.uint64),
  numeric_sum: ch.map(ch.float64),
  numeric_min: ch.map(ch.float64),
  numeric_max: ch.map(ch.float64),
});

export interface SessionRow {
  topology: string;
  project_id: string;
  user_id: string;
  session_start: number;
  session_end: number;
  revision: number;
  is_final: 0 | 1;
  is_deleted: 0 | 1;
  events: number;
  actions: Record<string, number>;
  first_event_at: number;
  last_event_at: number;
  duration_ms: number;
}

const SESSIONS = nativeTable<SessionRow>({
  topology: ch.string,
  project_id: ch.string,
  user_id: ch.string,
  session_start: ch.dateTime64ms,
  session_end: ch.dateTime64ms,
  revision: ch.uint32,
  is_final: ch.uint8,
  is_deleted: ch.uint8,
  events: ch.uint64,
  actions: ch.map(ch.uint64),
  first_event_at: ch.dateTime64ms,
  last_event_at: ch.dateTime64ms,
  duration_ms: ch.uint64,
});

interface LateEventRow {
  topology: string;
  project_id: string;
  user_id: string;
  window_start: number;
  event_id: string;
  event_time: number;
  late_by_ms: number;
  corrected: 0 | 1;
}

const LATE_EVENTS = nativeTable<LateEventRow>({
  topology: ch.string,
  project_id: ch.string,
  user_id: ch.string,
  window_start: ch.dateTime64ms,
  event_id: ch.uuid,
  event_time: ch.dateTime64ms,
  late_by_ms: ch.uint64,
  corrected: ch.uint8,
});

interface WatermarkTableRow {
  topology: string;
  partition: number;
  watermark: number;
  open_windows: number;
  late_events: number;
}

const WATERMARKS = nativeTable<WatermarkTableRow>({
  topology: ch.string,
  partition: ch.uint32,
  watermark: ch.dateTime64ms,
  open_windows: ch.uint64,
  late_events: ch.uint64,
});

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
type StoredActivity = ActivityValues & {
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

/** A stored minute result as its lookup reads it back. */
function toStoredResult(row: StoredActivity): StoredResult<ActivityAggregate> {
  const numeric: Record<string, NumericSummary> = {};
  for (const name in row.numeric_count) {
    numeric[name] = { count: row.numeric_count[name]!, sum: row.numeric_sum[name]!, min: row.numeric_min[name]!, max: row.numeric_max[name]! };
  }
  return {
    kind: row.is_final === 1 ? 'final' : 'update',
    revision: row.revision,
    aggregate: { events: row.events, actions: row.actions, firstEventAt: Number(row.first_ms), lastEventAt: Number(row.last_ms), numeric },
  };
}

/**
 * What is stored for each window the results are about, keyed
 * `project/user/start`; as many queries as the URL budget needs.
 */
async function storedActivity(
  client: ClickHouseClient,
  results: WindowResult<ActivityAggregate>[],
): Promise<Map<string, StoredResult<ActivityAggregate>>> {
  const keys = results.map((r) => ({ ...splitUserKey(r.key), start: r.window.start }));
  const stored = new Map<string, StoredResult<ActivityAggregate>>();
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
    for (const row of await result.json<StoredActivity>()) stored.set(`${row.project_id}/${row.user_id}/${row.start_ms}`, toStoredResult(row));
  }
  return stored;
}

/** One change row: a stored result's values, added (+1) or taken back (-1). */
function changeRow(topology: string, key: GroupKey, window: { start: number; end: number }, stored: StoredResult<ActivityAggregate>, sign: 1 | -1): ActivityChangeRow {
  const { aggregate } = stored;
  const numeric = numericColumns(aggregate);
  // A whole literal, not spreads: this runs for every result the worker emits.
  return {
    topology,
    project_id: key.project_id,
    user_id: key.user_id,
    window_start: window.start,
    window_end: window.end,
    revision: stored.revision,
    is_final: stored.kind === 'final' ? 1 : 0,
    events: aggregate.events,
    actions: aggregate.actions,
    first_event_at: aggregate.firstEventAt,
    last_event_at: aggregate.lastEventAt,
    numeric_count: numeric.count,
    numeric_sum: numeric.sum,
    numeric_min: numeric.min,
    numeric_max: numeric.max,
    sign,
  };
}

export interface SinkAttempt {
  /**
   * A write of these results failed before: storage may hold what that
   * attempt wrote, so what each result `replaces` is looked up, not trusted.
   */
  retry: boolean;
  /**
   * Names the write for ClickHouse's insert deduplication (with a digest of
   * each block's content, see insert-rows.ts): the same for every attempt,
   * derived from the round's offset ranges. An attempt that timed out in the
   * client but landed, and a retry that could not see it yet, write the same
   * rows under the same token: ClickHouse keeps one.
   */
  token: string;
}

/**
 * Writes per-minute activity results. A result newer than what is stored for
 * its window goes in as +1, with a -1 of the stored values it replaces; one
 * not newer (a replay, a re-emit) is skipped. What is stored is the result's
 * `replaces` when the window store knows it, and looked up in ClickHouse
 * when it does not (a window an earlier owner of the partition may have
 * written) or when this is a retry.
 */
/** What a result replaces, as far as the window store knows it; `unknown`: ask storage. */
type PreviousOf = (result: WindowResult<ActivityAggregate>, key: GroupKey) => StoredResult<ActivityAggregate> | undefined;

/** The change rows of these results: +1 for each newer than what it replaces, with a -1 of that; one not newer is skipped. */
export function activityChangeRows(topology: string, results: WindowResult<ActivityAggregate>[], previousOf: PreviousOf): ActivityChangeRow[] {
  const rows: ActivityChangeRow[] = [];
  for (const result of results) {
    const key = splitUserKey(result.key);
    const previous = previousOf(result, key);
    if (previous && previous.revision >= result.revision) continue;
    if (previous) rows.push(changeRow(topology, key, result.window, previous, -1));
    rows.push(changeRow(topology, key, result.window, result, 1));
  }
  return rows;
}

/** What each result replaces as the window store knows it (a window it opened itself); nothing when it does not. */
export const knownPrevious: PreviousOf = (result) => (typeof result.replaces === 'object' ? result.replaces : undefined);

/**
 * Writes per-minute activity results. A result newer than what is stored for
 * its window goes in as +1, with a -1 of the stored values it replaces; one
 * not newer (a replay, a re-emit) is skipped. What is stored is the result's
 * `replaces` when the window store knows it, and looked up in ClickHouse
 * when it does not (a window an earlier owner of the partition may have
 * written) or when this is a retry.
 */
export async function writeActivityResults(
  client: ClickHouseClient,
  topology: string,
  results: WindowResult<ActivityAggregate>[],
  attempt: SinkAttempt,
): Promise<number> {
  if (results.length === 0) return 0;
  const unknown = attempt.retry ? results : results.filter((r) => r.replaces === 'unknown');
  const looked = unknown.length > 0 ? await storedActivity(client, unknown) : new Map<string, StoredResult<ActivityAggregate>>();
  const rows = activityChangeRows(topology, results, (result, key) => {
    const replaced = attempt.retry ? 'unknown' : result.replaces;
    return replaced === 'unknown' ? looked.get(`${key.project_id}/${key.user_id}/${result.window.start}`) : replaced === 'nothing' ? undefined : replaced;
  });
  return (await insertRows(client, 'agg_user_activity_changes', ACTIVITY_CHANGES, rows, { contentToken: `${topology}@${attempt.token}` })).length;
}

/** Session results as snapshot rows; a retraction deletes the session it names. */
export function sessionRows(topology: string, results: WindowResult<ActivityAggregate>[]): SessionRow[] {
  return results.map((result): SessionRow => ({
    topology,
    ...splitUserKey(result.key),
    session_start: result.window.start,
    session_end: result.window.end,
    revision: result.revision,
    is_final: result.kind === 'final' ? 1 : 0,
    is_deleted: result.kind === 'retract' ? 1 : 0,
    events: result.aggregate.events,
    actions: result.aggregate.actions,
    first_event_at: result.aggregate.firstEventAt,
    last_event_at: result.aggregate.lastEventAt,
    duration_ms: durationMs(result.aggregate),
  }));
}

export async function writeSessionResults(client: ClickHouseClient, topology: string, results: WindowResult<ActivityAggregate>[]): Promise<number> {
  return (await insertRows(client, 'agg_user_sessions', SESSIONS, sessionRows(topology, results))).length;
}

export async function recordLateEvents(client: ClickHouseClient, entries: Array<{ topology: string; late: LateEvent<TrackedEvent>[] }>): Promise<number> {
  const values = entries.flatMap(({ topology, late }) =>
    late.map(({ key, window, event, lateByMs, corrected }): LateEventRow => ({
      topology,
      ...splitUserKey(key),
      window_start: window.start,
      event_id: event.event_id,
      event_time: event.timestamp,
      late_by_ms: lateByMs,
      corrected: corrected ? 1 : 0,
    })),
  );
  return (await insertRows(client, 'late_events', LATE_EVENTS, values)).length;
}

export interface WatermarkRow {
  topology: string;
  partition: number;
  watermark: number;
  openWindows: number;
  lateEvents: number;
}

export async function recordWatermarks(client: ClickHouseClient, rows: WatermarkRow[]): Promise<number> {
  const refused = await insertRows(
    client,
    'topology_watermarks',
    WATERMARKS,
    rows
      .filter((r) => Number.isFinite(r.watermark))
      .map((r) => ({
        topology: r.topology,
        partition: r.partition,
        watermark: r.watermark,
        open_windows: r.openWindows,
        late_events: r.lateEvents,
      })),
  );
  return refused.length;
}
