/**
 * The raw-event query behind GET /activities: filters, event-time order and
 * keyset pagination on (timestamp, event_id), never OFFSET. Every value is a
 * query parameter; the only SQL that varies is chosen from fixed fragments.
 * `e.event_id` is the UUID column: the selected `event_id` is its text, and
 * the two do not sort alike.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import { STORED_EVENT_COLUMNS, toDateTime64, toStoredEvent, type StoredEvent, type StoredRow } from './events-table.js';

export interface ActivityFilter {
  /** The project the read is confined to; undefined only in open mode. */
  projectId?: string;
  userIds: string[];
  actions: string[];
  /** Event time, inclusive. */
  from?: number;
  /** Event time, exclusive. */
  to?: number;
  sessionId?: string;
  /** Equality on properties, by name: the value as the client wrote it in the URL. */
  properties: Array<{ name: string; value: string }>;
}

export interface Keyset {
  timestamp: number;
  eventId: string;
}

export interface ActivityQuery {
  filter: ActivityFilter;
  order: 'asc' | 'desc';
  limit: number;
  after?: Keyset;
}

export interface ActivityPage {
  events: StoredEvent[];
  /** Where the next page starts, when this one is full. */
  next?: Keyset;
}

export async function queryActivities(client: ClickHouseClient, query: ActivityQuery): Promise<ActivityPage> {
  const { filter } = query;
  const where: string[] = [];
  const params: Record<string, unknown> = { limit: query.limit };
  if (filter.projectId !== undefined) {
    where.push('project_id = {project_id:String}');
    params.project_id = filter.projectId;
  }
  if (filter.userIds.length > 0) {
    where.push('user_id IN {user_ids:Array(String)}');
    params.user_ids = filter.userIds;
  }
  if (filter.actions.length > 0) {
    where.push('action IN {actions:Array(String)}');
    params.actions = filter.actions;
  }
  if (filter.from !== undefined) {
    where.push("timestamp >= {from:DateTime64(3, 'UTC')}");
    params.from = toDateTime64(filter.from);
  }
  if (filter.to !== undefined) {
    where.push("timestamp < {to:DateTime64(3, 'UTC')}");
    params.to = toDateTime64(filter.to);
  }
  if (filter.sessionId !== undefined) {
    where.push('session_id = {session_id:String}');
    params.session_id = filter.sessionId;
  }
  filter.properties.forEach(({ name, value }, i) => {
    // A URL value matches the JSON string with that text, or a number, boolean
    // or null written that way.
    where.push(`JSONExtractRaw(properties, {pn${i}:String}) IN ({pv${i}:String}, {pj${i}:String})`);
    params[`pn${i}`] = name;
    params[`pv${i}`] = value;
    params[`pj${i}`] = JSON.stringify(value);
  });
  if (query.after) {
    where.push(`(timestamp, e.event_id) ${query.order === 'desc' ? '<' : '>'} ({after_t:DateTime64(3, 'UTC')}, {after_id:UUID})`);
    params.after_t = toDateTime64(query.after.timestamp);
    params.after_id = query.after.eventId;
  }
  const direction = query.order === 'desc' ? 'DESC' : 'ASC';
  const result = await client.query({
    query: `SELECT ${STORED_EVENT_COLUMNS}, toUnixTimestamp64Milli(timestamp) AS timestamp_ms
            FROM events AS e
            ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
            ORDER BY timestamp ${direction}, e.event_id ${direction}
            LIMIT {limit:UInt32}`,
    query_params: params,
    format: 'JSONEachRow',
    // Limits: the API's client carries READ_LIMITS (read-limits.ts) on every query.
    clickhouse_settings: { output_format_json_quote_64bit_integers: 0 },
  });
  const rows = await result.json<StoredRow & { timestamp_ms: number }>();
  const last = rows[rows.length - 1];
  return {
    events: rows.map(toStoredEvent),
    ...(last && rows.length === query.limit ? { next: { timestamp: last.timestamp_ms, eventId: last.event_id } } : {}),
  };
}
