/**
 * The events the SDK puts on the wire: StreamTrack's own `POST /track` event
 * (schemas/tracked-event.v3.avsc), one per call of track, identify, page and
 * alias, each of its Segment message `type`. The server's identity reads
 * `type`, `user_id` and `anonymous_id`: an identify or alias carrying an
 * anonymous (alias: previous) id beside its user id links the two, and an
 * identify's `traits` are the user's. `action` is required by the contract:
 * the other types carry the name the server's Segment routes give them
 * (`$identify`, `$page`, `$alias`), so every client's events read alike.
 */

/** A property value the event contract stores: the map's values are null, booleans, doubles or strings. */
export type PropertyValue = string | number | boolean | null;
/** What callers may pass: dates as ISO 8601, nested values as their JSON text; undefined values are left out. */
export type Properties = Record<string, unknown>;

export interface EventContext {
  user_agent?: string;
  locale?: string;
  page_url?: string;
  library: { name: string; version: string };
}

export type MessageType = 'track' | 'identify' | 'page' | 'alias';

/** One event as `POST /track` reads it. */
export interface WireEvent {
  event_id: string;
  type: MessageType;
  user_id: string;
  /** The visitor's id before (or without) a user id; on an alias, the previous id linked to `user_id`. */
  anonymous_id?: string;
  action: string;
  /** Client time, ISO 8601; the server corrects it by the batch's `sent_at`. */
  timestamp: string;
  properties: Record<string, PropertyValue>;
  /** identify: the user's attributes. */
  traits?: Record<string, PropertyValue>;
  /** page: the page's name. */
  name?: string;
  context: EventContext;
}

export const ACTIONS = { identify: '$identify', alias: '$alias', page: '$page' } as const;
export const LIBRARY = { name: '@streamtrack/sdk', version: '0.1.0' } as const;

/** Flat scalar properties, as the contract's map holds them. */
export function flatProperties(input: Properties | undefined): Record<string, PropertyValue> {
  const out: Record<string, PropertyValue> = {};
  if (input === null || typeof input !== 'object') return out;
  for (const key of Object.keys(input)) {
    const value = input[key];
    if (value === undefined || typeof value === 'function' || typeof value === 'symbol') continue;
    if (value === null || typeof value === 'string' || typeof value === 'boolean') out[key] = value;
    else if (typeof value === 'number') out[key] = Number.isFinite(value) ? value : null;
    else if (value instanceof Date) out[key] = Number.isNaN(value.getTime()) ? null : value.toISOString();
    else out[key] = jsonText(value);
  }
  return out;
}

/** JSON text of a caller's value; a cycle or a throwing toJSON gives its String() instead of an exception. */
function jsonText(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}
