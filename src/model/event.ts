/**
 * The tracked event: what StreamTrack carries on Kafka (as the Avro record of
 * schemas/tracked-event.v1.avsc) and stores in ClickHouse. One definition for
 * the API, the serde and the worker.
 */

/** Property values are JSON scalars; nested objects are refused at the door. */
export type PropertyValue = string | number | boolean | null;

export interface TrackedEvent {
  /** UUID, client-supplied or stamped by the API. */
  event_id: string;
  user_id: string;
  action: string;
  /** Event time, epoch milliseconds (UTC). */
  timestamp: number;
  /** When the API received the event, epoch milliseconds (UTC). */
  received_at: number;
  properties: Record<string, PropertyValue>;
}

/** Where a consumed event came from: the worker's replay-safe identity for it. */
export interface KafkaPosition {
  topic: string;
  partition: number;
  offset: string;
}
