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

/** The kinds of message (Segment's spec calls them so); every event is one, `track` by default. */
export const MESSAGE_TYPES = ['track', 'identify', 'page', 'screen', 'group', 'alias'] as const;
export type MessageType = (typeof MESSAGE_TYPES)[number];

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
  /** Schema v3 on; events of older versions read `track`, null, {} and null. */
  type: MessageType;
  /** The client's visitor id; on an identify or alias beside user_id, it is linked to that user. */
  anonymous_id: string | null;
  /** The user's (identify) or group's (group) attributes. */
  traits: Record<string, PropertyValue>;
  /** A page's or screen's name. */
  name: string | null;
  /** The client's own message id as sent, when event_id was derived from it. */
  message_id: string | null;
}

/** The v3 fields of an event of an older version, or of a /track event that sets none: what the schema's defaults read. */
export function messageDefaults(): Pick<TrackedEvent, 'type' | 'anonymous_id' | 'traits' | 'name' | 'message_id'> {
  return { type: 'track', anonymous_id: null, traits: {}, name: null, message_id: null };
}

/** Where a consumed event came from: the worker's replay-safe identity for it. */
export interface KafkaPosition {
  topic: string;
  partition: number;
  offset: string;
}
