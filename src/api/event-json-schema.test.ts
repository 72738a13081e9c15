/**
 * The documented JSON event against the validator /track uses, for every
 * schema version in schemas/: what the document accepts, the API accepts,
 * and each kind of event the API refuses, the document refuses too. A rule
 * added to validate-event.ts or a field added to a schema that the document
 * does not follow fails here.
 */
import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import { schemaVersionType } from '../../testing/schemas.js';
import { DEFAULT_EVENT_LIMITS, validateEvent } from '../ingestion/validate-event.js';
import { SCHEMAS_DIR, eventSchemaFiles } from '../serde/event-schemas.js';
import { eventJsonSchema, newestEventSchema, type AvroType } from './event-json-schema.js';

const ajv = new Ajv2020({ allErrors: true, allowUnionTypes: true });
addFormats.default(ajv);
const versions = (await eventSchemaFiles()).map((f) => f.version);
const NOW = Date.parse('2026-03-01T12:00:00Z');

const accepted: Array<[string, Record<string, unknown>]> = [
  ['the least event', { user_id: 'u', action: 'a' }],
  [
    'every v1 field a client sets',
    {
      event_id: '0B8F6A52-1C2D-4E5F-8A9B-0C1D2E3F4A5B',
      project_id: 'shop',
      user_id: 'u',
      action: 'a',
      timestamp: '2026-03-01T11:59:00+01:00',
      sent_at: 1_772_366_400_000,
      properties: { plan: 'pro', seats: 3, ratio: 0.5, trial: true, coupon: null },
    },
  ],
  ['a null sent_at', { user_id: 'u', action: 'a', sent_at: null }],
];

const acceptedV2: Array<[string, Record<string, unknown>]> = [
  [
    'v2 session and full context',
    {
      user_id: 'u',
      action: 'a',
      session_id: 's-1',
      context: { ip: '10.0.0.1', user_agent: 'ua', locale: 'en-US', library: { name: 'streamtrack-js', version: '1.0.0' }, page_url: 'https://x' },
    },
  ],
  ['v2 partial context', { user_id: 'u', action: 'a', context: { locale: 'de-DE' } }],
  ['v2 null context and session', { user_id: 'u', action: 'a', context: null, session_id: null }],
];

const refused: Array<[string, unknown]> = [
  ['not an object', 'app_started'],
  ['a missing user_id', { action: 'a' }],
  ['a missing action', { user_id: 'u' }],
  ['an empty action', { user_id: 'u', action: '' }],
  ['a blank user_id', { user_id: '   ', action: 'a' }],
  ['a user_id over 256 characters', { user_id: 'u'.repeat(257), action: 'a' }],
  ['a numeric user_id', { user_id: 7, action: 'a' }],
  ['a null project_id', { user_id: 'u', action: 'a', project_id: null }],
  ['an unknown field', { user_id: 'u', action: 'a', plan: 'pro' }],
  ["the server's received_at", { user_id: 'u', action: 'a', received_at: NOW }],
  ["the server's warnings", { user_id: 'u', action: 'a', warnings: [] }],
  ['an event_id that is not a UUID', { user_id: 'u', action: 'a', event_id: 'abc' }],
  ['an unreadable timestamp', { user_id: 'u', action: 'a', timestamp: 'tomorrow' }],
  ['a negative timestamp', { user_id: 'u', action: 'a', timestamp: -1 }],
  ['a fractional sent_at', { user_id: 'u', action: 'a', sent_at: 1.5 }],
  ['a nested property', { user_id: 'u', action: 'a', properties: { x: { y: 1 } } }],
  ['a list property', { user_id: 'u', action: 'a', properties: { x: [1] } }],
  ['an empty property key', { user_id: 'u', action: 'a', properties: { '': 1 } }],
  ['a property key over 128 characters', { user_id: 'u', action: 'a', properties: { ['k'.repeat(129)]: 1 } }],
  ['a property string over 8192 characters', { user_id: 'u', action: 'a', properties: { x: 'x'.repeat(8_193) } }],
  ['257 properties', { user_id: 'u', action: 'a', properties: Object.fromEntries(Array.from({ length: 257 }, (_, i) => [`p${i}`, i])) }],
  ['a project_id holding the key separator U+001F', { project_id: 'victim\u001fx', user_id: 'u', action: 'a' }],
  ['a user_id holding NUL', { user_id: 'u\u0000', action: 'a' }],
  ['an action holding a C1 control', { user_id: 'u', action: 'a\u0085' }],
  ['a property key holding DEL', { user_id: 'u', action: 'a', properties: { 'k\u007f': 1 } }],
];

const refusedV2: Array<[string, unknown]> = [
  ['a blank session_id', { user_id: 'u', action: 'a', session_id: ' ' }],
  ['a session_id holding a newline', { user_id: 'u', action: 'a', session_id: 's\n' }],
  ['a library without its version', { user_id: 'u', action: 'a', context: { library: { name: 'x' } } }],
  ['a numeric locale', { user_id: 'u', action: 'a', context: { locale: 1 } }],
];

const refusedBeforeV2: Array<[string, unknown]> = [['a v2 field', { user_id: 'u', action: 'a', session_id: 's' }]];

describe.each(versions)('schema v%i', (version) => {
  const type = schemaVersionType(version);
  const avro = JSON.parse(readFileSync(`${SCHEMAS_DIR}tracked-event.v${version}.avsc`, 'utf8')) as AvroType;
  const documented = ajv.compile(eventJsonSchema(avro, DEFAULT_EVENT_LIMITS));
  const isV2 = version >= 2;

  it.each([...accepted, ...(isV2 ? acceptedV2 : [])])('accepts %s, as the API does', (_, event) => {
    expect(documented(event), JSON.stringify(documented.errors)).toBe(true);
    const validation = validateEvent(event, type, NOW);
    expect(validation.ok, JSON.stringify(validation)).toBe(true);
  });

  it.each([...refused, ...(isV2 ? refusedV2 : refusedBeforeV2)])('refuses %s, as the API does', (_, event) => {
    expect(validateEvent(event, type, NOW).ok).toBe(false);
    expect(documented(event)).toBe(false);
  });
});

it('documents the newest schema version', () => {
  const newest = newestEventSchema() as { fields: Array<{ name: string }> };
  const latest = JSON.parse(readFileSync(`${SCHEMAS_DIR}tracked-event.v${Math.max(...versions)}.avsc`, 'utf8')) as typeof newest;
  expect(newest.fields.map((f) => f.name)).toEqual(latest.fields.map((f) => f.name));
});
