/**
 * Validation of a `POST /track` payload into an event ready to publish.
 * Pure: no I/O, no clock (the receive time is an argument), so every rule is
 * unit-tested. Every problem is reported, each naming its field and why.
 */
import { randomUUID } from 'node:crypto';
import type { PropertyValue, TrackedEvent } from '../model/event.js';

export const LIMITS = {
  idLength: 256,
  propertyCount: 256,
  propertyKeyLength: 128,
  propertyStringLength: 8_192,
} as const;

export interface FieldError {
  /** Path of the offending field, e.g. `user_id` or `properties.plan`. */
  field: string;
  reason: string;
}

export type Validation<T> = { ok: true; value: T } | { ok: false; errors: FieldError[] };

const KNOWN_FIELDS = new Set(['event_id', 'user_id', 'action', 'timestamp', 'properties']);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// ISO-8601 date-time with an explicit zone: a bare local time is ambiguous.
const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/;

function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

function requiredId(body: Record<string, unknown>, field: string, errors: FieldError[]): string {
  const value = body[field];
  if (value === undefined) errors.push({ field, reason: 'is required' });
  else if (typeof value !== 'string') errors.push({ field, reason: `must be a string, got ${typeOf(value)}` });
  else if (value.trim() === '') errors.push({ field, reason: 'must not be empty' });
  else if (value.length > LIMITS.idLength) {
    errors.push({ field, reason: `must be at most ${LIMITS.idLength} characters, got ${value.length}` });
  } else return value;
  return '';
}

function eventTime(value: unknown, errors: FieldError[]): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'number') {
    if (Number.isSafeInteger(value) && value >= 0) return value;
    errors.push({ field: 'timestamp', reason: 'must be epoch milliseconds (a non-negative integer)' });
    return undefined;
  }
  if (typeof value === 'string' && ISO_DATE_TIME.test(value)) {
    const ms = Date.parse(value);
    if (!Number.isNaN(ms)) return ms;
  }
  errors.push({
    field: 'timestamp',
    reason: 'must be an ISO-8601 date-time with a time zone or epoch milliseconds',
  });
  return undefined;
}

function properties(value: unknown, errors: FieldError[]): Record<string, PropertyValue> {
  if (value === undefined) return {};
  if (typeOf(value) !== 'object') {
    errors.push({ field: 'properties', reason: `must be an object, got ${typeOf(value)}` });
    return {};
  }
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length > LIMITS.propertyCount) {
    errors.push({ field: 'properties', reason: `must have at most ${LIMITS.propertyCount} keys` });
    return {};
  }
  const result: Record<string, PropertyValue> = {};
  for (const [key, v] of entries) {
    const field = `properties.${key}`;
    if (key === '' || key.length > LIMITS.propertyKeyLength) {
      errors.push({ field, reason: `key must be 1 to ${LIMITS.propertyKeyLength} characters` });
    } else if (typeof v === 'string' && v.length > LIMITS.propertyStringLength) {
      errors.push({ field, reason: `must be at most ${LIMITS.propertyStringLength} characters` });
    } else if (typeof v === 'number' && !Number.isFinite(v)) {
      errors.push({ field, reason: 'must be a finite number' });
    } else if (v === null || ['string', 'number', 'boolean'].includes(typeof v)) {
      result[key] = v as PropertyValue;
    } else {
      errors.push({ field, reason: `must be a string, number, boolean or null, got ${typeOf(v)}` });
    }
  }
  return result;
}

/**
 * Checks one event payload and stamps it: `event_id` (kept if the client sent
 * one, so a resend keeps its identity), `received_at`, and event time
 * (defaults to the receive time).
 */
export function validateEvent(body: unknown, receivedAt: number): Validation<TrackedEvent> {
  if (typeOf(body) !== 'object') {
    return { ok: false, errors: [{ field: '$', reason: `event must be a JSON object, got ${typeOf(body)}` }] };
  }
  const record = body as Record<string, unknown>;
  const errors: FieldError[] = [];
  for (const key of Object.keys(record)) {
    if (!KNOWN_FIELDS.has(key)) errors.push({ field: key, reason: 'is not a known field (use properties)' });
  }
  const user_id = requiredId(record, 'user_id', errors);
  const action = requiredId(record, 'action', errors);
  let event_id: string = randomUUID();
  if (record.event_id !== undefined) {
    if (typeof record.event_id === 'string' && UUID.test(record.event_id)) event_id = record.event_id.toLowerCase();
    else errors.push({ field: 'event_id', reason: 'must be a UUID string' });
  }
  const timestamp = eventTime(record.timestamp, errors) ?? receivedAt;
  const props = properties(record.properties, errors);
  if (errors.length > 0) return { ok: false, errors };
  return {
    ok: true,
    value: { event_id, user_id, action, timestamp, received_at: receivedAt, properties: props },
  };
}
