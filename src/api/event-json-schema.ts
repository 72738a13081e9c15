/**
 * The JSON Schema of an event as a client sends it to POST /track in JSON,
 * derived from the tracked-event Avro schema in schemas/ when the app is
 * built, so the OpenAPI document has no hand-kept copy of the event.
 *
 * Beside the Avro types it states the API's own rules (validate-event.ts):
 * received_at and warnings are the server's; event_id (a UUID) and timestamp
 * are stamped when missing; times are ISO-8601 with a zone or epoch ms;
 * identifiers are non-blank and bounded; properties are bounded in count,
 * key length and string length; unknown top-level fields are refused.
 * event-json-schema.test.ts holds the result to validateEvent, so the two
 * cannot drift apart silently.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { TIME_EXPECTED, type EventLimits } from '../ingestion/validate-event.js';
import { MESSAGE_TYPES } from '../model/event.js';
import { SCHEMAS_DIR } from '../serde/event-schemas.js';

/** A JSON Schema (2020-12, as OpenAPI 3.1 uses), as plain data. */
export type JsonSchema = { [keyword: string]: unknown };

interface AvroField {
  name: string;
  type: AvroType;
  doc?: string;
  default?: unknown;
}

/** An Avro schema as written in a .avsc file (the parts a tracked-event schema uses). */
export type AvroType =
  | string
  | AvroType[]
  | { type: 'record'; name: string; doc?: string; fields: AvroField[] }
  | { type: 'map'; values: AvroType }
  | { type: 'array'; items: AvroType }
  | { type: string; logicalType?: string };

const SERVER_FIELDS = new Set(['received_at', 'warnings']);
const STAMPED_WHEN_MISSING = new Set(['event_id', 'timestamp']);
const IDENTIFIERS = new Set(['user_id', 'action', 'project_id', 'session_id', 'anonymous_id', 'message_id']);
/** Flat maps of scalars, bounded alike. */
const MAPS = ['properties', 'traits'];
/** What `invalid_characters` refuses, as far as a portable pattern says it (lone surrogates are refused too); `type` so that null passes. */
const NO_CONTROLS = { type: 'string', pattern: '[\\u0000-\\u001f\\u007f-\\u009f]', description: 'no control characters (U+0000-U+001F, U+007F-U+009F) or lone surrogates' };
const EVENT_SCHEMA_FILE = /^tracked-event\.v(\d+)\.avsc$/;

const PRIMITIVES: Record<string, JsonSchema> = {
  null: { type: 'null' },
  boolean: { type: 'boolean' },
  int: { type: 'integer' },
  long: { type: 'integer' },
  float: { type: 'number' },
  double: { type: 'number' },
  string: { type: 'string' },
};

/** A time as the API reads one: ISO-8601 with a zone, or epoch ms. */
export const TIME_SCHEMA: JsonSchema = {
  anyOf: [{ type: 'string', format: 'date-time' }, { type: 'integer', minimum: 0 }],
  description: TIME_EXPECTED,
};

/** The newest tracked-event schema in schemas/: the version registered last, so the subject's latest. */
export function newestEventSchema(dir = SCHEMAS_DIR): AvroType {
  const newest = readdirSync(dir)
    .map((name) => ({ name, version: Number(EVENT_SCHEMA_FILE.exec(name)?.[1] ?? NaN) }))
    .filter(({ version }) => !Number.isNaN(version))
    .sort((a, b) => b.version - a.version)[0];
  if (!newest) throw new Error(`no tracked-event schema in ${dir}`);
  return JSON.parse(readFileSync(`${dir}${newest.name}`, 'utf8')) as AvroType;
}

function union(branches: JsonSchema[]): JsonSchema {
  const bare = branches.every((b) => Object.keys(b).length === 1 && typeof b.type === 'string');
  return bare ? { type: branches.map((b) => b.type) } : { anyOf: branches };
}

function fromAvro(type: AvroType, limits: EventLimits): JsonSchema {
  if (Array.isArray(type)) return union(type.map((t) => fromAvro(t, limits)));
  if (typeof type === 'string') {
    const primitive = PRIMITIVES[type];
    if (!primitive) throw new Error(`Avro type ${type} has no JSON Schema here`);
    return primitive;
  }
  if ('fields' in type) return record(type, limits);
  if ('values' in type) return { type: 'object', additionalProperties: fromAvro(type.values, limits) };
  if ('items' in type) return { type: 'array', items: fromAvro(type.items, limits) };
  if (type.logicalType === 'uuid') return { type: 'string', format: 'uuid' };
  if (type.logicalType === 'timestamp-millis') return TIME_SCHEMA;
  return fromAvro(type.type, limits);
}

/** Optional fields are those with a default (avsc takes a missing one as its default). */
function record(type: { name: string; doc?: string; fields: AvroField[] }, limits: EventLimits): JsonSchema {
  return {
    type: 'object',
    ...(type.doc ? { description: type.doc } : {}),
    properties: Object.fromEntries(type.fields.map((f) => [f.name, field(f, limits)])),
    required: type.fields.filter((f) => f.default === undefined).map((f) => f.name),
  };
}

function field(f: AvroField, limits: EventLimits): JsonSchema {
  const schema = fromAvro(f.type, limits);
  const description = [f.doc, schema.description].filter(Boolean).join(' Sent as: ');
  return {
    ...schema,
    ...(description ? { description } : {}),
    ...(f.default === undefined ? {} : { default: f.default }),
  };
}

/** The event a client sends, from the tracked-event Avro record. */
export function eventJsonSchema(avro: AvroType, limits: EventLimits): JsonSchema {
  if (typeof avro !== 'object' || Array.isArray(avro) || !('fields' in avro)) throw new Error('the tracked-event schema is not a record');
  const fields = avro.fields.filter((f) => !SERVER_FIELDS.has(f.name));
  const event = record({ ...avro, fields }, limits);
  const properties = event.properties as Record<string, JsonSchema>;
  // String keywords apply to the string branch of a nullable identifier or property value alone.
  for (const name of Object.keys(properties)) {
    if (IDENTIFIERS.has(name)) properties[name] = { ...properties[name], minLength: 1, maxLength: limits.idLength, pattern: '\\S', not: NO_CONTROLS };
  }
  for (const name of MAPS) {
    const map = properties[name];
    if (!map) continue;
    properties[name] = {
      ...map,
      additionalProperties: { ...(map.additionalProperties as JsonSchema), maxLength: limits.stringLength },
      maxProperties: limits.propertyCount,
      propertyNames: { minLength: 1, maxLength: limits.propertyKeyLength, not: NO_CONTROLS },
    };
  }
  if (properties.type) properties.type = { ...properties.type, enum: [...MESSAGE_TYPES] };
  if (properties.name) properties.name = { ...properties.name, maxLength: limits.stringLength, pattern: '\\S', not: NO_CONTROLS };
  return {
    ...event,
    required: (event.required as string[]).filter((name) => !STAMPED_WHEN_MISSING.has(name)),
    additionalProperties: false,
  };
}
