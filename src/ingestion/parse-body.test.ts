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
