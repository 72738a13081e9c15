import { describe, expect, it } from 'vitest';
import { readAnswer } from './answer.js';

const accepted = (n: number) => JSON.stringify({ accepted: n, refused: 0, results: Array.from({ length: n }, (_, index) => ({ index, status: 'accepted', event_id: `id${index}` })) });

describe('readAnswer', () => {
  it("reads each event's final result from 202, 207 and 400", () => {
    expect(readAnswer(202, accepted(2), undefined, 2)).toEqual({
      kind: 'results',
      results: [
        { status: 'accepted', event_id: 'id0' },
        { status: 'accepted', event_id: 'id1' },
      ],
    });
    const mixed = JSON.stringify({
      accepted: 1,
      refused: 1,
      results: [
        { index: 0, status: 'accepted', event_id: 'a', warnings: ['timestamp_in_future_clamped'] },
        { index: 1, status: 'refused', errors: [{ field: 'action', code: 'empty', problem: 'must not be empty' }] },
      ],
    });
    expect(readAnswer(207, mixed, undefined, 2)).toEqual({
      kind: 'results',
      results: [
        { status: 'accepted', event_id: 'a', warnings: ['timestamp_in_future_clamped'] },
        { status: 'refused', errors: [{ field: 'action', code: 'empty', problem: 'must not be empty' }] },
      ],
    });
  });

  it('retries 429, 408, 5xx with Retry-After, and any answer that is not the documented body', () => {
    expect(readAnswer(429, '{"error":{"code":"rate_limited"}}', 1_000, 1)).toEqual({ kind: 'retry', reason: 'http_429', retryAfterMs: 1_000, answered: true });
    expect(readAnswer(503, '', 5_000, 1)).toMatchObject({ kind: 'retry', retryAfterMs: 5_000 });
    expect(readAnswer(408, undefined, undefined, 1)).toMatchObject({ kind: 'retry' });
    expect(readAnswer(202, '<html>captive portal</html>', undefined, 1)).toMatchObject({ kind: 'retry', reason: 'http_202' });
    expect(readAnswer(202, accepted(1), undefined, 2)).toMatchObject({ kind: 'retry' }); // results for another batch
    expect(readAnswer(200, '{"results":[{"status":"maybe"}]}', undefined, 1)).toMatchObject({ kind: 'retry' });
    expect(readAnswer(302, '', undefined, 1)).toMatchObject({ kind: 'retry' });
  });

  it('never retries a 4xx refusal: the whole batch is refused with the error', () => {
    expect(readAnswer(401, '{"error":{"code":"unauthorized","message":"bad key"}}', undefined, 3)).toEqual({ kind: 'refused', httpStatus: 401, code: 'unauthorized', message: 'bad key' });
    expect(readAnswer(400, '{"error":{"code":"invalid_json","message":"x"}}', undefined, 3)).toMatchObject({ kind: 'refused', code: 'invalid_json' });
    expect(readAnswer(403, 'garbage', undefined, 1)).toMatchObject({ kind: 'refused', code: 'http_403' });
    expect(readAnswer(415, undefined, undefined, 1)).toMatchObject({ kind: 'refused', code: 'http_415' });
  });

  it('splits a batch answered 413; a single event answered 413 is refused', () => {
    expect(readAnswer(413, '{"error":{"code":"payload_too_large"}}', undefined, 4)).toEqual({ kind: 'split' });
    expect(readAnswer(413, '{"error":{"code":"event_too_large","message":"m"}}', undefined, 1)).toMatchObject({ kind: 'refused', code: 'event_too_large' });
  });
});
