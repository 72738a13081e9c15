/** Reads and writes of the raw `events` table. All SQL is parameterised. */
import type { ClickHouseClient } from '@clickhouse/client';
import type { EventContext, KafkaPosition, MessageType, PropertyValue, TrackedEvent } from '../model/event.js';
import { insertRows } from './insert-rows.js';
import type { RefusedRow } from './write-errors.js';
import { chunkByCost } from './lookup-chunks.js';
import { ch, nativeTable } from './native-format.js';

/** An event as the API returns it: every stored field, times in ISO-8601 UTC. */
export interface StoredEvent {
  event_id: string;
  project_id: string;
  user_id: string;
  action: string;
  timestamp: string;
  sent_at: string | null;
  received_at: string;
  session_id: string | null;
  properties: Record<string, PropertyValue>;
  context: EventContext | null;
  warnings: string[];
  type: MessageType;
  anonymous_id: string | null;
  traits: Record<string, PropertyValue>;
  name: string | null;
  message_id: string | null;
}

/** The columns of `events` that are read as they are written. */
interface EventTextColumns {
  event_id: string;
  project_id: string;
  user_id: string;
  action: string;
  session_id: string | null;
  /** JSON text. */
  properties: string;
  context_ip: string | null;
  context_user_agent: string | null;
  context_locale: string | null;
  context_library_name: string | null;
  context_library_version: string | null;
  context_page_url: string | null;
  warnings: string[];
  type: MessageType;
  anonymous_id: string | null;
  /** JSON text. */
  traits: string;
  name: string | null;
  message_id: string | null;
}

/** A row of `events` as written: times as epoch milliseconds, context flattened. */
export interface EventRow extends EventTextColumns {
  timestamp: number;
  sent_at: number | null;
  received_at: number;
  schema_id: number;
  kafka_partition: number;
  kafka_offset: bigint;
}

/**
 * Epoch milliseconds as ClickHouse's DateTime64(3) text in UTC, `2024-01-31 23:59:59.123`:
 * for query parameters (rows are written with the milliseconds as they are).
 */
export function toDateTime64(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').slice(0, 23);
}

const EVENTS = nativeTable<EventRow>({
  event_id: ch.uuid,
  project_id: ch.string,
  user_id: ch.string,
  action: ch.string,
  timestamp: ch.dateTime64ms,
  sent_at: ch.nullable(ch.dateTime64ms),
  received_at: ch.dateTime64ms,
  session_id: ch.nullable(ch.string),
  properties: ch.string,
  context_ip: ch.nullable(ch.string),
  context_user_agent: ch.nullable(ch.string),
  context_locale: ch.nullable(ch.string),
  context_library_name: ch.nullable(ch.string),
  context_library_version: ch.nullable(ch.string),
  context_page_url: ch.nullable(ch.string),
  warnings: ch.array(ch.string),
  type: ch.string,
  anonymous_id: ch.nullable(ch.string),
  traits: ch.string,
  name: ch.nullable(ch.string),
  message_id: ch.nullable(ch.string),
  schema_id: ch.uint32,
  kafka_partition: ch.uint32,
  kafka_offset: ch.uint64Big,
});

export function toRow(event: TrackedEvent, position: KafkaPosition, schemaId: number): EventRow {
  const { context } = event;
  return {
    event_id: event.event_id,
    project_id: event.project_id,
    user_id: event.user_id,
    action: event.action,
    timestamp: event.timestamp,
    sent_at: event.sent_at,
    received_at: event.received_at,
    session_id: event.session_id,
    properties: JSON.stringify(event.properties),
    context_ip: context?.ip ?? null,
    context_user_agent: context?.user_agent ?? null,
    context_locale: context?.locale ?? null,
    context_library_name: context?.library?.name ?? null,
    context_library_version: context?.library?.version ?? null,
    context_page_url: context?.page_url ?? null,
    warnings: event.warnings,
    type: event.type,
    anonymous_id: event.anonymous_id,
    traits: JSON.stringify(event.traits),
    name: event.name,
    message_id: event.message_id,
    schema_id: schemaId,
    kafka_partition: position.partition,
    kafka_offset: BigInt(position.offset),
  };
}

/**
 * Inserts one batch. `deduplicationToken` must identify the batch's content
 * (the worker derives it from topic, partition and offset range): ClickHouse
 * then ignores a replay of the same batch. Returns the rows the table
 * refused on their own (insert-rows.ts); every other row is stored.
 */
export async function insertEvents(client: ClickHouseClient, rows: EventRow[], deduplicationToken: string): Promise<RefusedRow<EventRow>[]> {
  return insertRows(client, 'events', EVENTS, rows, { deduplicationToken });
}

/** What an event id costs in a lookup's URL: 36 characters that need no encoding, and a comma (`%2C`). */
const ID_URL_COST = 36 + encodeURIComponent(',').length;

/** A lookup's ids, from its one comma-separated parameter. */
const IDS = `SELECT toUUID(arrayJoin(splitByChar(',', {ids:String}))) AS id`;
/** UUIDv7s, and ids of other versions: in `event_ids_by_time` all the latter have the time 1970-01-01. */
const BY_TIME_AND_ID = `(UUIDv7ToDateTime(event_id), event_id) IN (SELECT UUIDv7ToDateTime(id), id FROM (${IDS}))`;
const WITHOUT_TIME = `UUIDv7ToDateTime(event_id) = toDateTime64(0, 3, 'UTC') AND event_id IN (${IDS})`;

/**
 * Where stored events came from, `partition:offset`, by event id and
 * project: an event id is unique within its project (migration 0010). An id
 * stored before that migration has no project ('') and answers for every
 * project.
 */
export class StoredPositions {
  private readonly byId = new Map<string, Map<string, string>>();

  add(eventId: string, projectId: string, position: string): void {
    let ofId = this.byId.get(eventId);
    if (!ofId) this.byId.set(eventId, (ofId = new Map()));
    ofId.set(projectId, position);
  }

  /** The record this project's event was stored from, if it is stored. */
  of(projectId: string, eventId: string): string | undefined {
    const ofId = this.byId.get(eventId);
    return ofId && (ofId.get(projectId) ?? ofId.get(''));
  }

  /** Whether the id has a row stored before migration 0010, with no project (`of` then answers for every project). */
  unattributed(eventId: string): boolean {
    return this.byId.get(eventId)?.has('') ?? false;
  }

  /** Whether the id is stored in any project. */
  has(eventId: string): boolean {
    return this.byId.has(eventId);
  }

  /** How many distinct ids are stored. */
  get size(): number {
    return this.byId.size;
  }
}

/**
 * Which of these event ids are stored already, in which projects, and from
 * which Kafka record: primary-key lookups in `event_ids_by_time`, as many
 * as the URL budget needs. An id stored twice by a race keeps its first
 * record. A UUIDv7 is looked up by its time and id, so the lookup reads only
 * the granules of that time (migration 0006); the other ids by id within
 * the time they all share: naming the time of each (a tuple per row) cost
 * their lookups up to 40% more (bench:lookup). The ids travel as one comma-separated parameter, not an
 * Array(UUID): the client formats and URL-encodes an array element by
 * element, which cost the worker more than the lookup's answer. Limits are
 * the client's: the API's carries its read limits, the worker's none (a
 * round's lookup is as large as the round).
 */
export async function storedEventPositions(client: ClickHouseClient, ids: string[], signal?: AbortSignal): Promise<StoredPositions> {
  const positions = new StoredPositions();
  // Character 14 is the version digit of a UUID's text.
  const v7 = ids.filter((id) => id[14] === '7');
  const others = v7.length === ids.length ? [] : ids.filter((id) => id[14] !== '7');
  for (const [group, condition] of [[v7, BY_TIME_AND_ID], [others, WITHOUT_TIME]] as const) {
    for (const chunk of chunkByCost(group, () => ID_URL_COST)) {
      const result = await client.query({
        query: `SELECT toString(event_id) AS id, project_id AS project,
                       argMin(concat(toString(kafka_partition), ':', toString(kafka_offset)), stored_at) AS position
                FROM event_ids_by_time WHERE ${condition} GROUP BY event_id, project_id`,
        query_params: { ids: chunk.join(',') },
        format: 'JSONEachRow',
        ...(signal ? { abort_signal: signal } : {}),
      });
      for (const row of await result.json<{ id: string; project: string; position: string }>()) positions.add(row.id, row.project, row.position);
    }
  }
  return positions;
}

/**
 * Which of these stored event ids belong to the project (and to the users,
 * when given): `event_ids_by_time` knows no project, so a read confined to
 * one confirms there what the id lookup found, and another project's ids
 * read as not stored.
 */
export async function idsOfProject(client: ClickHouseClient, ids: string[], projectId: string, userIds: string[]): Promise<Set<string>> {
  const result = await client.query({
    query: `SELECT DISTINCT toString(event_id) AS id FROM events
            WHERE project_id = {project:String} ${userIds.length > 0 ? 'AND user_id IN {users:Array(String)}' : ''}
              AND event_id IN (${IDS})`,
    query_params: { project: projectId, users: userIds, ids: ids.join(',') },
    format: 'JSONEachRow',
  });
  return new Set((await result.json<{ id: string }>()).map((row) => row.id));
}

/**
 * The offset after the highest one stored from this partition (0 when none
 * is): a round's raw events are stored before its window results, so no
 * window result of a record at or above it has been written by anyone.
 */
export async function storedThrough(client: ClickHouseClient, partition: number): Promise<bigint> {
  const result = await client.query({
    query: `SELECT count() AS parts, toString(max(max_offset)) AS max_offset FROM stored_offsets WHERE kafka_partition = {partition:UInt32}`,
    query_params: { partition },
    format: 'JSONEachRow',
    clickhouse_settings: { output_format_json_quote_64bit_integers: 0 },
  });
  const [row] = await result.json<{ parts: number; max_offset: string }>();
  return row && row.parts > 0 ? BigInt(row.max_offset) + 1n : 0n;
}

export const STORED_EVENT_COLUMNS = `
  toString(event_id) AS event_id, project_id, user_id, action, timestamp, sent_at, received_at, session_id,
  properties, context_ip, context_user_agent, context_locale, context_library_name, context_library_version,
  context_page_url, warnings, type, anonymous_id, traits, name, message_id`;

/** A row of `events` as read: times as text. */
export type StoredRow = EventTextColumns & Pick<StoredEvent, 'timestamp' | 'sent_at' | 'received_at'>;

export function toStoredEvent(row: StoredRow): StoredEvent {
  const hasContext = [row.context_ip, row.context_user_agent, row.context_locale, row.context_library_name, row.context_page_url].some(
    (v) => v !== null,
  );
  return {
    event_id: row.event_id,
    project_id: row.project_id,
    user_id: row.user_id,
    action: row.action,
    timestamp: row.timestamp,
    sent_at: row.sent_at,
    received_at: row.received_at,
    session_id: row.session_id,
    properties: JSON.parse(row.properties) as Record<string, PropertyValue>,
    context: hasContext
      ? {
          ip: row.context_ip,
          user_agent: row.context_user_agent,
          locale: row.context_locale,
          library:
            row.context_library_name === null ? null : { name: row.context_library_name, version: row.context_library_version ?? '' },
          page_url: row.context_page_url,
        }
      : null,
    warnings: row.warnings,
    type: row.type,
    anonymous_id: row.anonymous_id,
    traits: JSON.parse(row.traits) as Record<string, PropertyValue>,
    name: row.name,
    message_id: row.message_id,
  };
}
