import { describe, expect, it } from 'vitest';
import { parseRetryAfter, retryDelay } from './backoff.js';

const policy = { baseMs: 100, capMs: 10_000, maxRetryAfterMs: 60_000 };

describe('retryDelay', () => {
  it('draws uniformly below an exponential ceiling (full jitter), capped', () => {
    expect(retryDelay(1, policy, undefined, () => 0.999)).toBe(199);
    expect(retryDelay(3, policy, undefined, () => 0.999)).toBe(799);
    expect(retryDelay(3, policy, undefined, () => 0)).toBe(0);
    expect(retryDelay(40, policy, undefined, () => 0.999)).toBe(9_990);
  });

  it('waits at least Retry-After, which is itself capped', () => {
    expect(retryDelay(1, policy, 5_000, () => 0.5)).toBe(5_000);
    expect(retryDelay(1, policy, 10 ** 12, () => 0.5)).toBe(60_000);
  });
});

describe('parseRetryAfter', () => {
  it('reads delta-seconds and HTTP dates; ignores the rest', () => {
    const now = Date.parse('2026-12-07T00:00:00Z');
    expect(parseRetryAfter('5', now)).toBe(5_000);
    expect(parseRetryAfter('Mon, 07 Dec 2026 00:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Sun, 06 Dec 2026 00:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter(null, now)).toBeUndefined();
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter('-3', now)).toBeUndefined();
    expect(parseRetryAfter('99999999999999', now)).toBeUndefined();
  });
});
