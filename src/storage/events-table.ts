/** Reads and writes of the raw `events` table. All SQL is parameterised. */
import type { ClickHouseClient } from '@clickhouse/client';
import type { KafkaPosition, PropertyValue, TrackedEvent } from '../model/event.js';

export interface StoredEvent {
  event_id: string;
  user_id: string;
  action: string;
  /** ISO-8601 UTC. */
  timestamp: string;
  received_at: string;
  properties: Record<string, PropertyValue>;
}

interface EventRow {
  event_id: string;
  user_id: string;
  action: string;
  timestamp: string;
  received_at: string;
  properties: string;
  kafka_partition: number;
  kafka_offset: string;
}

/** Epoch milliseconds as ClickHouse's DateTime64(3) text in UTC: `2024-01-31 23:59:59.123`. */
export function toDateTime64(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').replace('Z', '');
}

export function toRow(event: TrackedEvent, position: KafkaPosition): EventRow {
  return {
    event_id: event.event_id,
    user_id: event.user_id,
    action: event.action,
    timestamp: toDateTime64(event.timestamp),
    received_at: toDateTime64(event.received_at),
    properties: JSON.stringify(event.properties),
    kafka_partition: position.partition,
    kafka_offset: position.offset,
  };
}

/**
 * Inserts one batch. `deduplicationToken` must identify the batch's content
 * (the worker derives it from topic, partition and offset range): ClickHouse
 * then ignores a replay of the same batch.
 */
export async function insertEvents(
  client: ClickHouseClient,
  rows: EventRow[],
  deduplicationToken: string,
): Promise<void> {
  await client.insert({
    table: 'events',
    values: rows,
    format: 'JSONEachRow',
    clickhouse_settings: { insert_deduplication_token: deduplicationToken },
  });
}

export async function latestEvents(client: ClickHouseClient, limit: number): Promise<StoredEvent[]> {
  const result = await client.query({
    query: `SELECT toString(event_id) AS event_id, user_id, action, timestamp, received_at, properties
            FROM events
            ORDER BY timestamp DESC, event_id DESC
            LIMIT {limit:UInt32}`,
    query_params: { limit },
    format: 'JSONEachRow',
  });
  const rows = await result.json<Omit<StoredEvent, 'properties'> & { properties: string }>();
  return rows.map((row) => ({ ...row, properties: JSON.parse(row.properties) as Record<string, PropertyValue> }));
}
