/**
 * One incoming event checked against its Avro schema version and turned into
 * the record to publish. Pure: no I/O, and the receive time is an argument.
 *
 * What the API owns is stamped here: `event_id` (kept if the client sent one,
 * so a resend keeps its identity), `received_at`, and event time corrected
 * for the client's clock skew: timestamp + (received_at - sent_at), as
 * Segment and PostHog do. Every problem is reported with the field's path,
 * the type the schema expects, and what is wrong with the value.
 */
import type { Type } from 'avsc';
import { MESSAGE_TYPES } from '../model/event.js';
import { newEventId } from './event-id.js';

/** What kind of problem a field has: stable, for clients to branch on and for metrics to count. */
export type RefusalCode =
  | 'event_too_large'
  | 'invalid_json'
  | 'not_an_object'
  | 'server_field'
  | 'unknown_field'
  | 'missing'
  | 'wrong_type'
  | 'invalid_uuid'
  | 'invalid_time'
  | 'empty'
  | 'too_long'
  | 'too_many_properties'
  | 'invalid_property_key'
  | 'invalid_characters'
  | 'timestamp_too_old'
  | 'not_finite'
  | 'unknown_type'
  | 'too_many_errors';

export interface FieldError {
  /** Path of the offending field, e.g. `user_id`, `properties.plan`, `$` for the event itself. */
  field: string;
  /** The type the schema expects there, when a type is at fault. */
  expected?: string;
  problem: string;
}

/** Why an event was refused, field by field. */
export interface EventError extends FieldError {
  code: RefusalCode;
}

export type Validation<T> = { ok: true; value: T } | { ok: false; errors: EventError[] };

export interface EventLimits {
  idLength: number;
  propertyCount: number;
  propertyKeyLength: number;
  stringLength: number;
  /** Corrected event times later than this past the receive time are clamped to it. */
  maxFutureMs: number;
  /** Events whose corrected time is more than this before the receive time are refused (`timestamp_too_old`). */
  maxPastMs: number;
}

export const DEFAULT_EVENT_LIMITS: EventLimits = {
  idLength: 256,
  propertyCount: 256,
  propertyKeyLength: 128,
  stringLength: 8_192,
  maxFutureMs: 60 * 60 * 1000,
  // Segment and PostHog take historical data through imports, not live ingestion; windows and rollups are closed long before.
  maxPastMs: 31 * 24 * 60 * 60 * 1000,
};

/** An Avro record of some version of the tracked-event schema. */
export type EventRecord = Record<string, unknown> & {
  event_id: string;
  user_id: string;
  action: string;
  timestamp: number;
  received_at: number;
  warnings: string[];
};

export const WARNING_FUTURE_CLAMPED = 'timestamp_in_future_clamped';

const SERVER_FIELDS = new Set(['received_at', 'warnings']);
/**
 * C0, DEL and C1 controls (\p{Cc}: U+0000-U+001F, U+007F-U+009F), and lone
 * surrogates (\p{Cs} in a u-mode regex matches no paired one). Never part of
 * an id or a key: U+001F joins project and user in the aggregation key, so
 * "victim\u001fx" must not count as project "victim"; a lone surrogate is
 * written to Avro as U+FFFD, so "\ud800" and "\ud801" would be one user.
 */
const CONTROL_CHARACTER = /[\p{Cc}\p{Cs}]/u;
/** The quick first test: controls or any surrogate (a u-mode regex runs slower); pairs go on to the exact one. */
const MAYBE_CONTROL_CHARACTER = /[\u0000-\u001f\u007f-\u009f\ud800-\udfff]/;

function hasControlCharacter(value: string): boolean {
  return MAYBE_CONTROL_CHARACTER.test(value) && CONTROL_CHARACTER.test(value);
}
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const TIME_EXPECTED = 'ISO-8601 date-time with a time zone, or epoch milliseconds';

export function isUuid(value: unknown): value is string {
  return typeof value === 'string' && UUID.test(value);
}
// ISO-8601 date-time with an explicit zone: a bare local time is ambiguous.
const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/;

/**
 * The JSON text of a parsed client value, or undefined when it is nested
 * deeper than JSON.stringify's stack allows (JSON.parse has no such limit:
 * 5,000 nested arrays parse, and throw a RangeError when written back).
 */
export function jsonText(value: unknown): string | undefined {
  try {
    return JSON.stringify(value);
  } catch {
    return undefined;
  }
}

const PREVIEW_CHARS = 64;

/** A client value shown in an error: its JSON, cut short. */
function preview(value: unknown): string {
  const text = jsonText(value);
  if (text === undefined) return '(a value nested too deeply to show)';
  return text.length > PREVIEW_CHARS ? `${text.slice(0, PREVIEW_CHARS)}…` : text;
}

export function jsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

interface AvscType {
  typeName: string;
  name?: string;
  types?: AvscType[];
  itemsType?: AvscType;
  valuesType?: AvscType;
  getFields?(): Array<{ name: string; defaultValue(): unknown }>;
}

/** The schema's type at a field, in Avro's words: `string`, `null | string`, `map<…>`. */
export function describeType(type: AvscType): string {
  if (type.types) return type.types.map(describeType).join(' | ');
  if (type.typeName === 'record') return `record ${type.name?.split('.').pop() ?? ''}`.trim();
  if (type.itemsType) return `array<${describeType(type.itemsType)}>`;
  if (type.valuesType) return `map<${describeType(type.valuesType)}>`;
  return type.typeName;
}

interface RecordShape {
  names: Set<string>;
  /**
   * Every field in the schema's order with its default (undefined for a
   * required field; objects are copied per event). A candidate is built in
   * this order, so every event of a schema version has one object shape,
   * and V8 and avsc's compiled checks and writers stay on their fast path.
   */
  fields: Array<[string, unknown]>;
}

const shapes = new WeakMap<Type, RecordShape>();

/** What validation needs of a schema version, worked out once per type. */
function shapeOf(type: Type): RecordShape {
  let shape = shapes.get(type);
  if (!shape) {
    const fields = (type as unknown as AvscType).getFields!();
    shape = {
      names: new Set(fields.map((f) => f.name)),
      fields: fields.map((f): [string, unknown] => [f.name, f.defaultValue()]),
    };
    shapes.set(type, shape);
  }
  return shape;
}

function copyDefault(value: unknown): unknown {
  if (Array.isArray(value)) return [...(value as unknown[])];
  return value !== null && typeof value === 'object' ? { ...value } : value;
}

/** Epoch milliseconds from an ISO-8601 date-time with a zone or from epoch milliseconds. */
export function parseTime(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value >= 0 ? value : undefined;
  if (typeof value === 'string' && ISO_DATE_TIME.test(value)) {
    const ms = Date.parse(value);
    return Number.isNaN(ms) ? undefined : ms;
  }
  return undefined;
}

// A corrected time may be far outside what a Date can hold (toISOString would throw).
function describeTime(ms: number): string {
  return Math.abs(ms) <= 8.64e15 ? new Date(ms).toISOString() : `${ms} ms since the epoch`;
}

/**
 * The last `sent_at` text read and its time. A batch's events share one
 * (Segment's batch `sentAt`, /track's batch `sent_at`): read once per batch,
 * not per event (Date.parse costs about 0.4 us).
 */
let lastSentAt: { text: string; ms: number | undefined } = { text: '', ms: undefined };

function parseSentAt(value: unknown): number | undefined {
  if (typeof value !== 'string') return parseTime(value);
  if (value !== lastSentAt.text) lastSentAt = { text: value, ms: parseTime(value) };
  return lastSentAt.ms;
}

function timeField(body: Record<string, unknown>, field: string, errors: EventError[], parse = parseTime): number | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  const ms = parse(value);
  if (ms === undefined) {
    errors.push({
      field,
      code: 'invalid_time',
      expected: TIME_EXPECTED,
      problem: `cannot be read as a time: ${preview(value)}`,
    });
  }
  return ms;
}

function checkText(value: unknown, field: string, max: number, errors: EventError[]) {
  if (typeof value !== 'string') return; // the schema check reports the type
  if (value.trim() === '') errors.push({ field, code: 'empty', expected: 'string', problem: 'must not be empty' });
  else if (value.length > max) errors.push({ field, code: 'too_long', expected: 'string', problem: `is ${value.length} characters, at most ${max} allowed` });
  else if (hasControlCharacter(value)) errors.push(controlCharacters(field, value));
}

function controlCharacters(field: string, value: string): EventError {
  const at = value.search(CONTROL_CHARACTER);
  const code = value.charCodeAt(at).toString(16).toUpperCase().padStart(4, '0');
  return {
    field,
    code: 'invalid_characters',
    expected: 'string',
    problem: `must not contain control characters (U+0000-U+001F, U+007F-U+009F) or lone surrogates: U+${code} at index ${at}`,
  };
}

/** Identifiers: non-blank, bounded, no control characters. */
const IDENTIFIER_FIELDS = ['user_id', 'action', 'project_id', 'session_id', 'anonymous_id', 'message_id'];
/** Flat maps of scalars, bounded alike. */
const MAP_FIELDS = ['properties', 'traits'];
const KNOWN_TYPES = new Set<unknown>(MESSAGE_TYPES);

/** Rules the Avro schema cannot express: non-empty identifiers, lengths, counts, the message types. */
function checkLimits(record: Record<string, unknown>, limits: EventLimits, errors: EventError[]) {
  for (const field of IDENTIFIER_FIELDS) {
    if (record[field] !== undefined && record[field] !== null) checkText(record[field], field, limits.idLength, errors);
  }
  if (record.name !== undefined && record.name !== null) checkText(record.name, 'name', limits.stringLength, errors);
  if (typeof record.type === 'string' && !KNOWN_TYPES.has(record.type)) {
    errors.push({ field: 'type', code: 'unknown_type', expected: MESSAGE_TYPES.join(' | '), problem: `is not a message type: ${preview(record.type)}` });
  }
  for (const field of MAP_FIELDS) checkMap(record[field], field, limits, errors);
}

function checkMap(map: unknown, field: string, limits: EventLimits, errors: EventError[]) {
  if (jsonType(map) !== 'object') return;
  const entries = Object.entries(map as Record<string, unknown>);
  if (entries.length > limits.propertyCount) {
    errors.push({ field, code: 'too_many_properties', problem: `has ${entries.length} keys, at most ${limits.propertyCount} allowed` });
    return; // refused already: each of thousands of keys checked would only lengthen the answer
  }
  for (const [key, value] of entries) {
    if (key === '' || key.length > limits.propertyKeyLength) {
      errors.push({ field: `${field}.${key}`, code: 'invalid_property_key', problem: `key must be 1 to ${limits.propertyKeyLength} characters` });
    } else if (hasControlCharacter(key)) {
      errors.push(controlCharacters(`${field}.${key}`, key));
    } else if (typeof value === 'string' && value.length > limits.stringLength) {
      errors.push({ field: `${field}.${key}`, code: 'too_long', problem: `is ${value.length} characters, at most ${limits.stringLength} allowed` });
    } else if (typeof value === 'number' && !Number.isFinite(value)) {
      errors.push({ field: `${field}.${key}`, code: 'not_finite', expected: 'double', problem: 'must be a finite number' });
    }
  }
}

function schemaErrors(type: Type, candidate: Record<string, unknown>): EventError[] {
  const errors: EventError[] = [];
  if (type.isValid(candidate)) return errors; // the fast path; the hook only to explain a failure
  type.isValid(candidate, {
    errorHook: (path: string[], value: unknown, at: Type) => {
      errors.push({
        field: path.join('.') || '$',
        code: value === undefined ? 'missing' : 'wrong_type',
        expected: describeType(at as unknown as AvscType),
        problem: value === undefined ? 'is required' : `got ${jsonType(value)} ${preview(value)}`,
      });
    },
  });
  return errors;
}

/** Errors listed per event at most: 2,500 unknown fields would answer a 32 KB event with 300 KB. */
export const MAX_ERRORS_PER_EVENT = 16;

function capped(errors: EventError[]): EventError[] {
  if (errors.length <= MAX_ERRORS_PER_EVENT) return errors;
  const listed = errors.slice(0, MAX_ERRORS_PER_EVENT - 1);
  listed.push({ field: '$', code: 'too_many_errors', problem: `${errors.length - listed.length} more problems not listed` });
  return listed;
}

/**
 * Checks one event (a parsed JSON value, or a record decoded from a client's
 * Avro) against `type`, a version of the tracked-event schema.
 */
export function validateEvent(
  body: unknown,
  type: Type,
  receivedAt: number,
  limits: EventLimits = DEFAULT_EVENT_LIMITS,
): Validation<EventRecord> {
  if (jsonType(body) !== 'object') {
    return { ok: false, errors: [{ field: '$', code: 'not_an_object', expected: 'object', problem: `event must be a JSON object, got ${jsonType(body)}` }] };
  }
  const input = body as Record<string, unknown>;
  const errors: EventError[] = [];
  const shape = shapeOf(type);
  for (const key of Object.keys(input)) {
    if (SERVER_FIELDS.has(key)) errors.push({ field: key, code: 'server_field', problem: 'is set by the server' });
    else if (!shape.names.has(key)) errors.push({ field: key, code: 'unknown_field', problem: 'is not a field of this schema version (put custom data in properties)' });
  }

  let eventId: string;
  if (isUuid(input.event_id)) eventId = input.event_id.toLowerCase();
  else {
    eventId = newEventId(receivedAt);
    if (input.event_id !== undefined && input.event_id !== null) {
      errors.push({ field: 'event_id', code: 'invalid_uuid', expected: 'string (uuid)', problem: `must be a UUID, got ${preview(input.event_id)}` });
    }
  }

  const timestamp = timeField(input, 'timestamp', errors);
  const sentAt = timeField(input, 'sent_at', errors, parseSentAt);
  const warnings: string[] = [];
  let eventTime = timestamp ?? receivedAt;
  if (timestamp !== undefined && sentAt !== undefined) eventTime = timestamp + (receivedAt - sentAt);
  if (eventTime > receivedAt + limits.maxFutureMs) {
    eventTime = receivedAt;
    warnings.push(WARNING_FUTURE_CLAMPED);
  } else if (eventTime < receivedAt - limits.maxPastMs) {
    errors.push({
      field: 'timestamp',
      code: 'timestamp_too_old',
      problem: `${describeTime(eventTime)}${sentAt === undefined ? '' : ' (corrected for sent_at)'} is more than ${limits.maxPastMs} ms before the receive time ${describeTime(receivedAt)}`,
    });
  }

  // The input's fields, the schema's defaults for those left out (a required
  // one stays undefined: "missing" below), then what the server sets.
  const candidate: Record<string, unknown> = {};
  for (const [name, fallback] of shape.fields) {
    const given = input[name];
    candidate[name] = given !== undefined ? given : copyDefault(fallback);
  }
  candidate.event_id = eventId;
  candidate.timestamp = eventTime;
  candidate.received_at = receivedAt;
  candidate.warnings = warnings;
  if (shape.names.has('sent_at')) candidate.sent_at = sentAt ?? null;
  errors.push(...schemaErrors(type, candidate));
  checkLimits(candidate, limits, errors);
  if (errors.length > 0) return { ok: false, errors: capped(errors) };
  return { ok: true, value: candidate as EventRecord };
}
