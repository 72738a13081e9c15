import { describe, expect, it } from 'vitest';
import { schemaVersionType } from '../../testing/schemas.js';
import { DEFAULT_EVENT_LIMITS, WARNING_FUTURE_CLAMPED, validateEvent, type EventError } from './validate-event.js';

const V1 = schemaVersionType(1);
const V2 = schemaVersionType(2);
const NOW = Date.parse('2026-01-02T03:04:05.678Z');

function errorsOf(body: unknown, type = V2): EventError[] {
  const result = validateEvent(body, type, NOW);
  if (result.ok) throw new Error('expected a refusal');
  return result.errors;
}

function accepted(body: unknown, type = V2) {
  const result = validateEvent(body, type, NOW);
  if (!result.ok) throw new Error(`refused: ${JSON.stringify(result.errors)}`);
  return result.value;
}

describe('validateEvent', () => {
  it("accepts the seed's minimal event and fills every default of the schema", () => {
    expect(accepted({ user_id: 'local_user', action: 'app_started' })).toEqual({
      event_id: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f-]{27}$/),
      project_id: 'default',
      user_id: 'local_user',
      action: 'app_started',
      timestamp: NOW,
      sent_at: null,
      received_at: NOW,
      session_id: null,
      properties: {},
      warnings: [],
      context: null,
    });
  });

  it('produces a record the schema encodes', () => {
    const record = accepted({ user_id: 'u', action: 'a', session_id: 's1', context: { ip: '10.0.0.1', library: { name: 'js', version: '1.0' } } });
    expect(V2.isValid(record)).toBe(true);
    expect(V2.fromBuffer(V2.toBuffer(record))).toMatchObject({ session_id: 's1', context: { ip: '10.0.0.1', locale: null } });
  });

  it('keeps a client event_id (lower-cased) so a resend keeps its identity', () => {
    const id = 'A1B2C3D4-0000-4000-8000-000000000001';
    expect(accepted({ event_id: id, user_id: 'u', action: 'a' }).event_id).toBe(id.toLowerCase());
  });

  it('reads event time from ISO-8601 with a zone or from epoch milliseconds', () => {
    expect(accepted({ user_id: 'u', action: 'a', timestamp: '2025-12-31T23:00:00.5+01:00' }).timestamp).toBe(Date.parse('2025-12-31T22:00:00.500Z'));
    expect(accepted({ user_id: 'u', action: 'a', timestamp: 1_700_000_000_123 }).timestamp).toBe(1_700_000_000_123);
  });

  it("corrects event time for the client's clock skew from sent_at", () => {
    // The client's clock is 10 minutes fast: it says it sent at NOW+10min.
    const skew = 10 * 60_000;
    const record = accepted({ user_id: 'u', action: 'a', timestamp: NOW + skew - 5_000, sent_at: NOW + skew });
    expect(record.timestamp).toBe(NOW - 5_000);
    expect(record.sent_at).toBe(NOW + skew);
    expect(record.warnings).toEqual([]);
  });

  it('clamps an event time far in the future to the receive time and says so', () => {
    const record = accepted({ user_id: 'u', action: 'a', timestamp: NOW + DEFAULT_EVENT_LIMITS.maxFutureMs + 1 });
    expect(record.timestamp).toBe(NOW);
    expect(record.warnings).toEqual([WARNING_FUTURE_CLAMPED]);
  });

  it('keeps scalar properties of every JSON type', () => {
    const properties = { plan: 'pro', seats: 3, ratio: 0.5, trial: false, coupon: null };
    expect(accepted({ user_id: 'u', action: 'a', properties }).properties).toEqual(properties);
  });

  it.each([
    ['a string', 'hello', 'string'],
    ['an array', [{ user_id: 'u' }], 'array'],
    ['null', null, 'null'],
  ])('refuses an event that is %s', (_, body, type) => {
    expect(errorsOf(body)).toEqual([{ field: '$', code: 'not_an_object', expected: 'object', problem: `event must be a JSON object, got ${type}` }]);
  });

  it('names every missing required field with its expected type', () => {
    expect(errorsOf({})).toEqual([
      { field: 'user_id', code: 'missing', expected: 'string', problem: 'is required' },
      { field: 'action', code: 'missing', expected: 'string', problem: 'is required' },
    ]);
  });

  it('refuses wrong types with the path, the expected type and the value', () => {
    expect(errorsOf({ user_id: 42, action: 'a', session_id: 7, properties: { nested: { deep: 1 }, ok: 1 } })).toEqual([
      { field: 'user_id', code: 'wrong_type', expected: 'string', problem: 'got number 42' },
      { field: 'session_id', code: 'wrong_type', expected: 'null | string', problem: 'got number 7' },
      { field: 'properties.nested', code: 'wrong_type', expected: 'null | boolean | double | string', problem: 'got object {"deep":1}' },
    ]);
  });

  it('refuses empty identifiers and strings over the limits', () => {
    expect(errorsOf({ user_id: ' ', action: 'a'.repeat(257) })).toEqual([
      { field: 'user_id', code: 'empty', expected: 'string', problem: 'must not be empty' },
      { field: 'action', code: 'too_long', expected: 'string', problem: 'is 257 characters, at most 256 allowed' },
    ]);
    expect(errorsOf({ user_id: 'u', action: 'a', properties: { big: 'x'.repeat(8_193) } })).toEqual([
      { field: 'properties.big', code: 'too_long', problem: 'is 8193 characters, at most 8192 allowed' },
    ]);
  });

  it('refuses fields this schema version does not have, and the server-owned ones', () => {
    expect(errorsOf({ user_id: 'u', action: 'a', session_id: 's' }, V1)).toEqual([
      { field: 'session_id', code: 'unknown_field', problem: 'is not a field of this schema version (put custom data in properties)' },
    ]);
    expect(errorsOf({ user_id: 'u', action: 'a', received_at: 1 })).toEqual([{ field: 'received_at', code: 'server_field', problem: 'is set by the server' }]);
  });

  it.each([
    ['a date without a zone', '2025-01-01T10:00:00'],
    ['prose', 'yesterday'],
    ['a negative number', -5],
    ['a fractional number', 1.5],
    ['an impossible date', '2025-13-45T10:00:00Z'],
  ])('refuses a timestamp that is %s', (_, timestamp) => {
    expect(errorsOf({ user_id: 'u', action: 'a', timestamp })).toEqual([
      expect.objectContaining({ field: 'timestamp', code: 'invalid_time', expected: 'ISO-8601 date-time with a time zone, or epoch milliseconds' }),
    ]);
  });

  it('refuses a malformed event_id', () => {
    expect(errorsOf({ event_id: 'not-a-uuid', user_id: 'u', action: 'a' })).toEqual([
      { field: 'event_id', code: 'invalid_uuid', expected: 'string (uuid)', problem: 'must be a UUID, got "not-a-uuid"' },
    ]);
  });

  it('refuses a context of the wrong shape, naming the nested path', () => {
    expect(errorsOf({ user_id: 'u', action: 'a', context: { library: { name: 'js' } } })).toEqual([
      { field: 'context.library.version', code: 'missing', expected: 'string', problem: 'is required' },
    ]);
  });
});
