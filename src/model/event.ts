/**
 * The tracked event as the worker reads it (the latest schema in schemas/,
 * to which every older writer version resolves) and as ClickHouse stores it.
 * One definition for the API, the serde and the worker.
 */

/** Property values are JSON scalars; nested objects are refused at the door. */
export type PropertyValue = string | number | boolean | null;

export interface LibraryInfo {
  name: string;
  version: string;
}

export interface EventContext {
  ip: string | null;
  user_agent: string | null;
  locale: string | null;
  library: LibraryInfo | null;
  page_url: string | null;
}

export interface TrackedEvent {
  event_id: string;
  project_id: string;
  user_id: string;
  action: string;
  /** Event time, skew-corrected, epoch milliseconds (UTC). */
  timestamp: number;
  /** Client clock at sending, epoch milliseconds, when the client said. */
  sent_at: number | null;
  /** Server clock at receipt, epoch milliseconds. */
  received_at: number;
  session_id: string | null;
  properties: Record<string, PropertyValue>;
  context: EventContext | null;
  /** What the API changed on the way in, e.g. `timestamp_in_future_clamped`. */
  warnings: string[];
}

/** Where a consumed event came from: the worker's replay-safe identity for it. */
export interface KafkaPosition {
  topic: string;
  partition: number;
  offset: string;
}
