import { describe, expect, it } from 'vitest';
import { BodyError, parseJsonBody, parseNdjsonBody } from './parse-body.js';

const LIMITS = { maxEventBytes: 100, maxBatchEvents: 3 };
const bytes = (text: string) => new TextEncoder().encode(text);

function bodyError(parse: () => unknown): { status: number; code: string; message: string } {
  try {
    parse();
  } catch (error) {
    if (error instanceof BodyError) return { status: error.status, code: error.code, message: error.message };
    throw error;
  }
  throw new Error('expected a BodyError');
}

describe('parseJsonBody', () => {
  it('reads one object as a single event', () => {
    expect(parseJsonBody(bytes('{"user_id":"u"}'), LIMITS)).toEqual({ single: true, items: [{ value: { user_id: 'u' } }] });
  });

  it('reads an array and a Segment-style batch, whose sent_at applies to events without one', () => {
    expect(parseJsonBody(bytes('[{"a":1},{"b":2}]'), LIMITS).items).toEqual([{ value: { a: 1 } }, { value: { b: 2 } }]);
    expect(parseJsonBody(bytes('{"batch":[{"a":1},{"a":2,"sent_at":5}],"sent_at":9}'), LIMITS)).toEqual({
      single: false,
      items: [{ value: { sent_at: 9, a: 1 } }, { value: { a: 2, sent_at: 5 } }],
    });
  });

  it('refuses malformed JSON and invalid UTF-8 with 400', () => {
    expect(bodyError(() => parseJsonBody(bytes('{"a":'), LIMITS))).toMatchObject({ status: 400, code: 'invalid_json' });
    expect(bodyError(() => parseJsonBody(new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]), LIMITS))).toEqual({
      status: 400,
      code: 'invalid_encoding',
      message: 'body is not valid UTF-8',
    });
  });

  it('refuses an empty batch (400) and one over the event count (413)', () => {
    expect(bodyError(() => parseJsonBody(bytes('[]'), LIMITS))).toMatchObject({ status: 400, code: 'empty_batch' });
    expect(bodyError(() => parseJsonBody(bytes('{"batch":[]}'), LIMITS))).toMatchObject({ status: 400, code: 'empty_batch' });
    expect(bodyError(() => parseJsonBody(bytes('[1,2,3,4]'), LIMITS))).toEqual({
      status: 413,
      code: 'too_many_events',
      message: 'the batch has 4 events, at most 3 allowed',
    });
  });

  it('refuses a batch object with other fields or a non-array batch', () => {
    expect(bodyError(() => parseJsonBody(bytes('{"batch":[{}],"x":1}'), LIMITS))).toMatchObject({ code: 'invalid_batch', message: 'unknown batch fields: x' });
    expect(bodyError(() => parseJsonBody(bytes('{"batch":{}}'), LIMITS))).toMatchObject({ code: 'invalid_batch' });
  });

  it('refuses one oversized event of a batch and keeps the others; a single oversized event is 413', () => {
    const big = `{"p":"${'x'.repeat(120)}"}`;
    expect(parseJsonBody(bytes(`[{"a":1},${big}]`), LIMITS).items).toEqual([
      { value: { a: 1 } },
      { errors: [{ field: '$', code: 'event_too_large', problem: 'event is 128 bytes, at most 100 allowed' }] },
    ]);
    expect(bodyError(() => parseJsonBody(bytes(big), LIMITS))).toMatchObject({ status: 413, code: 'event_too_large' });
  });
});

describe('write_key in the body (for navigator.sendBeacon, which cannot set headers)', () => {
  it('is taken out of a single event, which the validator then never sees', () => {
    expect(parseJsonBody(bytes('{"user_id":"u","write_key":"wk_1"}'), LIMITS)).toEqual({ single: true, items: [{ value: { user_id: 'u' } }], writeKey: 'wk_1' });
  });

  it('is read from the batch wrapper, beside batch and sent_at', () => {
    expect(parseJsonBody(bytes('{"batch":[{"a":1}],"write_key":"wk_2","sent_at":9}'), LIMITS)).toEqual({
      single: false,
      items: [{ value: { sent_at: 9, a: 1 } }],
      writeKey: 'wk_2',
    });
  });

  it('is absent when not sent, and an array body has no place for it', () => {
    expect(parseJsonBody(bytes('{"user_id":"u"}'), LIMITS)).not.toHaveProperty('writeKey');
    // Inside an event of an array it stays a field of that event, which the validator refuses as unknown.
    expect(parseJsonBody(bytes('[{"a":1,"write_key":"k"}]'), LIMITS)).toEqual({ single: false, items: [{ value: { a: 1, write_key: 'k' } }] });
  });

  it.each([
    ['a number', '{"user_id":"u","write_key":42}', 'number'],
    ['null', '{"user_id":"u","write_key":null}', 'null'],
    ['an object on a batch', '{"batch":[{}],"write_key":{"k":1}}', 'object'],
  ])('that is %s is refused: 400 invalid_write_key', (_, body, type) => {
    expect(bodyError(() => parseJsonBody(bytes(body), LIMITS))).toEqual({ status: 400, code: 'invalid_write_key', message: `"write_key" must be a string, got ${type}` });
  });
});

describe('hostile bodies', () => {
  const LARGE = { maxEventBytes: 32_768, maxBatchEvents: 10_000 };

  it('100,000 nested arrays: parsed (JSON.parse has no depth limit) and refused per event, not a RangeError', () => {
    const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    expect(parseJsonBody(bytes(deep), LARGE).items).toEqual([{ errors: [{ field: '$', code: 'invalid_json', problem: 'is nested too deeply to be an event' }] }]);
  });

  it('half a million blank NDJSON lines: 400 empty_batch, skipped without an object each', () => {
    const started = performance.now();
    expect(bodyError(() => parseNdjsonBody(bytes('\n'.repeat(500_000)), LARGE))).toMatchObject({ status: 400, code: 'empty_batch' });
    expect(performance.now() - started).toBeLessThan(1_000);
  });

  it('counts NDJSON lines past the limit without parsing them', () => {
    expect(bodyError(() => parseNdjsonBody(bytes('{}\r\n'.repeat(4)), LIMITS))).toEqual({ status: 413, code: 'too_many_events', message: 'the batch has 4 events, at most 3 allowed' });
  });
});

describe('parseNdjsonBody', () => {
  it('reads one event per line, skipping blank lines, and refuses a bad line alone', () => {
    expect(parseNdjsonBody(bytes('{"a":1}\n\n{"a":\n{"a":3}\n'), LIMITS)).toEqual({
      single: false,
      items: [
        { value: { a: 1 } },
        { errors: [{ field: '$', code: 'invalid_json', problem: expect.stringMatching(/^line 3 is not valid JSON/) }] },
        { value: { a: 3 } },
      ],
    });
  });

  it('refuses a body with no lines', () => {
    expect(bodyError(() => parseNdjsonBody(bytes('\n \n'), LIMITS))).toMatchObject({ status: 400, code: 'empty_batch' });
  });
});
