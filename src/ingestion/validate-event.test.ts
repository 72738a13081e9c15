import { describe, expect, it } from 'vitest';
import { LIMITS, validateEvent, type FieldError } from './validate-event.js';

const NOW = Date.parse('2026-01-02T03:04:05.678Z');

function errorsOf(body: unknown): FieldError[] {
  const result = validateEvent(body, NOW);
  if (result.ok) throw new Error('expected a refusal');
  return result.errors;
}

describe('validateEvent', () => {
  it("accepts the seed's minimal event and stamps id, receive time and event time", () => {
    const result = validateEvent({ user_id: 'local_user', action: 'app_started' }, NOW);
    expect(result).toEqual({
      ok: true,
      value: {
        event_id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        user_id: 'local_user',
        action: 'app_started',
        timestamp: NOW,
        received_at: NOW,
        properties: {},
      },
    });
  });

  it('keeps a client event_id (lower-cased) so a resend keeps its identity', () => {
    const id = 'A1B2C3D4-0000-4000-8000-000000000001';
    const result = validateEvent({ event_id: id, user_id: 'u', action: 'a' }, NOW);
    expect(result.ok && result.value.event_id).toBe(id.toLowerCase());
  });

  it('takes event time from an ISO-8601 string with a zone or from epoch milliseconds', () => {
    const iso = validateEvent({ user_id: 'u', action: 'a', timestamp: '2025-12-31T23:00:00.5+01:00' }, NOW);
    expect(iso.ok && iso.value.timestamp).toBe(Date.parse('2025-12-31T22:00:00.500Z'));
    const ms = validateEvent({ user_id: 'u', action: 'a', timestamp: 1_700_000_000_123 }, NOW);
    expect(ms.ok && ms.value.timestamp).toBe(1_700_000_000_123);
  });

  it('keeps scalar properties of every JSON type', () => {
    const properties = { plan: 'pro', seats: 3, ratio: 0.5, trial: false, coupon: null };
    const result = validateEvent({ user_id: 'u', action: 'a', properties }, NOW);
    expect(result.ok && result.value.properties).toEqual(properties);
  });

  it.each([
    ['a string', 'hello', 'string'],
    ['an array', [{ user_id: 'u' }], 'array'],
    ['null', null, 'null'],
    ['a number', 42, 'number'],
  ])('refuses a body that is %s, naming its type', (_, body, type) => {
    expect(errorsOf(body)).toEqual([{ field: '$', reason: `event must be a JSON object, got ${type}` }]);
  });

  it('names every missing required field', () => {
    expect(errorsOf({})).toEqual([
      { field: 'user_id', reason: 'is required' },
      { field: 'action', reason: 'is required' },
    ]);
  });

  it('refuses empty and blank identifiers', () => {
    expect(errorsOf({ user_id: '', action: '   ' })).toEqual([
      { field: 'user_id', reason: 'must not be empty' },
      { field: 'action', reason: 'must not be empty' },
    ]);
  });

  it('refuses identifiers of the wrong type, saying which type came', () => {
    expect(errorsOf({ user_id: 42, action: { name: 'x' } })).toEqual([
      { field: 'user_id', reason: 'must be a string, got number' },
      { field: 'action', reason: 'must be a string, got object' },
    ]);
  });

  it('refuses identifiers over the length limit', () => {
    const [error] = errorsOf({ user_id: 'x'.repeat(LIMITS.idLength + 1), action: 'a' });
    expect(error).toEqual({ field: 'user_id', reason: `must be at most 256 characters, got 257` });
  });

  it('refuses unknown top-level fields, pointing to properties', () => {
    expect(errorsOf({ user_id: 'u', action: 'a', plan: 'pro' })).toEqual([
      { field: 'plan', reason: 'is not a known field (use properties)' },
    ]);
  });

  it.each([
    ['a date without a zone', '2025-01-01T10:00:00'],
    ['prose', 'yesterday'],
    ['a negative number', -5],
    ['a fractional number', 1.5],
    ['an impossible date', '2025-13-45T10:00:00Z'],
  ])('refuses a timestamp that is %s', (_, timestamp) => {
    expect(errorsOf({ user_id: 'u', action: 'a', timestamp })).toEqual([
      expect.objectContaining({ field: 'timestamp' }),
    ]);
  });

  it('refuses a malformed event_id', () => {
    expect(errorsOf({ event_id: 'not-a-uuid', user_id: 'u', action: 'a' })).toEqual([
      { field: 'event_id', reason: 'must be a UUID string' },
    ]);
  });

  it('names each bad property by its path', () => {
    const errors = errorsOf({
      user_id: 'u',
      action: 'a',
      properties: { nested: { deep: 1 }, list: [1], big: 'x'.repeat(LIMITS.propertyStringLength + 1), ok: 1 },
    });
    expect(errors.map((e) => e.field)).toEqual(['properties.nested', 'properties.list', 'properties.big']);
    expect(errors[0]!.reason).toBe('must be a string, number, boolean or null, got object');
  });

  it('refuses properties that are not an object', () => {
    expect(errorsOf({ user_id: 'u', action: 'a', properties: ['x'] })).toEqual([
      { field: 'properties', reason: 'must be an object, got array' },
    ]);
  });
});
