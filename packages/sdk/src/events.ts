/**
 * The events the SDK puts on the wire: StreamTrack's own `POST /track` event
 * (schemas/tracked-event.v2.avsc), one per call of track, identify, page and
 * alias. Identity calls travel as reserved actions until the server has
 * identity of its own: `$identify` (traits in properties, the anonymous id
 * in `$anonymous_id`), `$alias` (`$previous_id`), `$page`.
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

/** One event as `POST /track` reads it. */
export interface WireEvent {
  event_id: string;
  user_id: string;
  action: string;
  /** Client time, ISO 8601; the server corrects it by the batch's `sent_at`. */
  timestamp: string;
  properties: Record<string, PropertyValue>;
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
