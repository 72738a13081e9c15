import { describe, expect, it } from 'vitest';
import { schemaVersionType } from '../../testing/schemas.js';
import { DEFAULT_EVENT_LIMITS, MAX_ERRORS_PER_EVENT, WARNING_FUTURE_CLAMPED, validateEvent, type EventError } from './validate-event.js';

const V1 = schemaVersionType(1);
const V2 = schemaVersionType(2);
const V3 = schemaVersionType(3);
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
    expect(accepted({ user_id: 'u', action: 'a', timestamp: 1_767_000_000_123 }).timestamp).toBe(1_767_000_000_123);
  });

  it("corrects event time for the client's clock skew from sent_at", () => {
    // The client's clock is 10 minutes fast: it says it sent at NOW+10min.
    const skew = 10 * 60_000;
    const record = accepted({ user_id: 'u', action: 'a', timestamp: NOW + skew - 5_000, sent_at: NOW + skew });
    expect(record.timestamp).toBe(NOW - 5_000);
    expect(record.sent_at).toBe(NOW + skew);
    expect(record.warnings).toEqual([]);
  });

  it("reads each event's sent_at as its own, whatever the events before it carried (a batch's shared one is read once)", () => {
    const at = (sentAt: unknown) => validateEvent({ user_id: 'u', action: 'a', timestamp: NOW - 60_000, sent_at: sentAt }, V2, NOW);
    const early = '2026-01-02T03:03:05.678Z';
    for (const sentAt of [early, early, 'yesterday', early, NOW - 30_000, '2026-01-02T03:04:05.678Z', early]) {
      const result = at(sentAt);
      if (sentAt === 'yesterday') expect(result).toMatchObject({ ok: false, errors: [{ field: 'sent_at', code: 'invalid_time' }] });
      else {
        const sentMs = typeof sentAt === 'number' ? sentAt : Date.parse(sentAt);
        expect(result).toMatchObject({ ok: true, value: { sent_at: sentMs, timestamp: NOW - 60_000 + (NOW - sentMs) } });
      }
    }
    expect(at('yesterday')).toMatchObject({ ok: false, errors: [{ field: 'sent_at', code: 'invalid_time' }] });
  });

  it('clamps an event time far in the future to the receive time and says so', () => {
    const record = accepted({ user_id: 'u', action: 'a', timestamp: NOW + DEFAULT_EVENT_LIMITS.maxFutureMs + 1 });
    expect(record.timestamp).toBe(NOW);
    expect(record.warnings).toEqual([WARNING_FUTURE_CLAMPED]);
  });

  describe('the past horizon', () => {
    const DAY = 86_400_000;
    const horizon = DEFAULT_EVENT_LIMITS.maxPastMs;

    it('is 31 days by default: a 30-day-old event is kept, a 32-day-old one refused', () => {
      expect(horizon).toBe(31 * DAY);
      expect(accepted({ user_id: 'u', action: 'a', timestamp: NOW - 30 * DAY }).timestamp).toBe(NOW - 30 * DAY);
      expect(errorsOf({ user_id: 'u', action: 'a', timestamp: new Date(NOW - 32 * DAY).toISOString() })).toEqual([
        { field: 'timestamp', code: 'timestamp_too_old', problem: `2025-12-01T03:04:05.678Z is more than ${horizon} ms before the receive time 2026-01-02T03:04:05.678Z` },
      ]);
    });

    it('applies to the time corrected for the clock skew, as the future clamp does', () => {
      // A client clock 40 days slow: its timestamp looks old, the corrected time is an hour ago.
      const slow = 40 * DAY;
      expect(accepted({ user_id: 'u', action: 'a', timestamp: NOW - slow - 3_600_000, sent_at: NOW - slow }).timestamp).toBe(NOW - 3_600_000);
      // A recent-looking timestamp sent "from the future" corrects to 32 days ago.
      const [error] = errorsOf({ user_id: 'u', action: 'a', timestamp: NOW, sent_at: NOW + 32 * DAY });
      expect(error).toMatchObject({ field: 'timestamp', code: 'timestamp_too_old', problem: expect.stringContaining('(corrected for sent_at)') });
    });

    it('refuses a correction far beyond what a date can hold, without throwing', () => {
      const [error] = errorsOf({ user_id: 'u', action: 'a', timestamp: 0, sent_at: Number.MAX_SAFE_INTEGER });
      expect(error).toMatchObject({ field: 'timestamp', code: 'timestamp_too_old', problem: expect.stringMatching(/^-\d+ ms since the epoch/) });
    });

    it('is a limit of its own: a longer horizon lets history through', () => {
      const result = validateEvent({ user_id: 'u', action: 'a', timestamp: NOW - 365 * DAY }, V2, NOW, { ...DEFAULT_EVENT_LIMITS, maxPastMs: 400 * DAY });
      expect(result.ok).toBe(true);
    });
  });

  describe('control characters', () => {
    it.each(['project_id', 'user_id', 'session_id', 'action'])('are refused in %s', (field) => {
      expect(errorsOf({ user_id: 'u', action: 'a', [field]: 'victim\u001fx' })).toEqual([
        {
          field,
          code: 'invalid_characters',
          expected: 'string',
          problem: 'must not contain control characters (U+0000-U+001F, U+007F-U+009F) or lone surrogates: U+001F at index 6',
        },
      ]);
    });

    it.each([
      ['NUL', '\u0000'],
      ['a newline', '\n'],
      ['DEL', '\u007f'],
      ['a C1 control', '\u0085'],
      ['the last C1 control', '\u009f'],
      ['a lone high surrogate', '\ud800'],
      ['a lone low surrogate', '\udc00x'],
      ['a reversed pair', '\udc00\ud800'],
    ])('are refused: %s', (_, char) => {
      expect(errorsOf({ user_id: `a${char}`, action: 'a' })).toEqual([expect.objectContaining({ field: 'user_id', code: 'invalid_characters' })]);
    });

    it('are refused in property keys, not in property values', () => {
      expect(errorsOf({ user_id: 'u', action: 'a', properties: { 'a\u0000b': 1, text: 'line 1\nline 2' } })).toEqual([
        expect.objectContaining({ field: 'properties.a\u0000b', code: 'invalid_characters' }),
      ]);
    });

    it('are refused in event_id, which must be a UUID', () => {
      expect(errorsOf({ event_id: '0b8f6a52-1c2d-4e5f-8a9b-0c1d2e3f4a5b\u0000', user_id: 'u', action: 'a' })).toEqual([
        expect.objectContaining({ field: 'event_id', code: 'invalid_uuid' }),
      ]);
    });

    it('leave other Unicode alone: U+00A0, emoji, Cyrillic, right-to-left', () => {
      expect(accepted({ user_id: 'другой\u00a0😀', action: 'שלום', project_id: 'p-1' }).user_id).toBe('другой\u00a0😀');
      expect(accepted({ user_id: '\ud83d\ude00', action: 'a' }).user_id).toBe('😀'); // a paired surrogate is one code point
    });
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

  it('shows a value nested too deeply for JSON.stringify without throwing, and long values cut short', () => {
    const deep = JSON.parse(`${'['.repeat(20_000)}${']'.repeat(20_000)}`) as unknown;
    expect(errorsOf({ user_id: 'u', action: 'a', event_id: deep, timestamp: deep, properties: { x: deep } })).toEqual([
      { field: 'event_id', code: 'invalid_uuid', expected: 'string (uuid)', problem: 'must be a UUID, got (a value nested too deeply to show)' },
      expect.objectContaining({ field: 'timestamp', code: 'invalid_time', problem: 'cannot be read as a time: (a value nested too deeply to show)' }),
      expect.objectContaining({ field: 'properties.x', code: 'wrong_type', problem: 'got array (a value nested too deeply to show)' }),
    ]);
    const [long] = errorsOf({ user_id: 'u', action: 'a', event_id: 'x'.repeat(10_000) });
    expect(long!.problem).toBe(`must be a UUID, got "${'x'.repeat(63)}…`);
  });

  it('lists at most 16 problems per event, the last saying how many more', () => {
    const unknown = Object.fromEntries(Array.from({ length: 2_500 }, (_, i) => [`u${i}`, 1]));
    const errors = errorsOf({ user_id: 'u', action: 'a', ...unknown });
    expect(errors).toHaveLength(MAX_ERRORS_PER_EVENT);
    expect(errors[0]).toMatchObject({ field: 'u0', code: 'unknown_field' });
    expect(errors.at(-1)).toEqual({ field: '$', code: 'too_many_errors', problem: '2485 more problems not listed' });
  });

  it('refuses too many properties without checking each key', () => {
    const properties = Object.fromEntries(Array.from({ length: 2_000 }, (_, i) => [`p${i}`.padEnd(200, 'x'), 1]));
    expect(errorsOf({ user_id: 'u', action: 'a', properties })).toEqual([
      { field: 'properties', code: 'too_many_properties', problem: 'has 2000 keys, at most 256 allowed' },
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

  it("fills v3's defaults, and checks its message type, ids, name and traits as the rest", () => {
    expect(accepted({ user_id: 'u', action: 'a' }, V3)).toMatchObject({ type: 'track', anonymous_id: null, traits: {}, name: null, message_id: null });
    expect(accepted({ user_id: 'u', action: '$identify', type: 'identify', anonymous_id: 'a', traits: { plan: 'pro', seats: 3 }, message_id: 'm-1' }, V3)).toMatchObject({
      type: 'identify',
      anonymous_id: 'a',
      traits: { plan: 'pro', seats: 3 },
      message_id: 'm-1',
    });
    const fields = (body: object) => errorsOf({ user_id: 'u', action: 'a', ...body }, V3).map((e) => `${e.field}:${e.code}`);
    expect(fields({ type: 'purchase' })).toEqual(['type:unknown_type']);
    expect(fields({ anonymous_id: ' ' })).toEqual(['anonymous_id:empty']);
    expect(fields({ message_id: 'x'.repeat(257) })).toEqual(['message_id:too_long']);
    expect(fields({ name: 'a\u0000b' })).toEqual(['name:invalid_characters']);
    expect(fields({ traits: { nested: { a: 1 } } })).toEqual(['traits.nested:wrong_type']);
    expect(fields({ traits: { '': 1 } })).toEqual(['traits.:invalid_property_key']);
    expect(fields({ traits: Object.fromEntries(Array.from({ length: 257 }, (_, i) => [`t${i}`, i])) })).toEqual(['traits:too_many_properties']);
  });
});
