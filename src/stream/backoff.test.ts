import { describe, expect, it } from 'vitest';
import { backoffDelay } from './backoff.js';

describe('backoffDelay', () => {
  it('doubles from the initial delay and stops at the cap', () => {
    const policy = { initialDelayMs: 100, maxDelayMs: 1_000 };
    const noJitter = () => 0;
    expect([1, 2, 3, 4, 5, 9].map((n) => backoffDelay(policy, n, noJitter))).toEqual([100, 200, 400, 800, 1_000, 1_000]);
  });

  it('jitters downwards by at most 20%', () => {
    expect(backoffDelay({ initialDelayMs: 100, maxDelayMs: 100 }, 1, () => 1)).toBe(80);
  });
});
